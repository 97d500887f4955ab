// RTN packing: exactness on grid values, outlier rescue, offsets' effect on ones, ragged blocks.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "oacim/core/error.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/core/rtn_packer.hpp"

namespace oacim {
namespace {

std::vector<float> heavy_tailed(int rows, int cols, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> w(static_cast<std::size_t>(rows) * cols);
  for (auto& x : w) x = static_cast<float>(0.02 * rng.student_t(4));
  return w;
}

TEST(RtnPacker, ValuesOnTheGridAreExact) {
  // Each row holds the 16 levels of one grid (step 0.125), twice: RTN must reproduce them exactly.
  // (Even shifts keep the signed grid's integer zero on the levels: see QuantGrid tests.)
  const int rows = 3;
  const int cols = 32;
  std::vector<float> w(static_cast<std::size_t>(rows) * cols);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) w[static_cast<std::size_t>(r * cols + c)] = 0.125f * static_cast<float>((c % 16) - 8 + 2 * r);
  }
  for (CodeKind kind : {CodeKind::Signed, CodeKind::Unsigned}) {
    RtnPackOptions o;
    o.grid = GridSpec{4, kind, 32};
    PackStats st;
    const PackedCimWeights p = pack_rtn(w, rows, cols, o, &st);
    EXPECT_EQ(st.mse, 0.0) << to_string(kind);
    EXPECT_EQ(p.dequantize(), w);
  }
}

TEST(RtnPacker, OutlierRescuesASpikeInBf16) {
  std::vector<float> w = heavy_tailed(4, 64, 1);
  w[static_cast<std::size_t>(2 * 64 + 37)] = 3.0f;  // a spike 150x the typical weight
  RtnPackOptions o;
  PackStats without;
  const PackedCimWeights p0 = pack_rtn(w, 4, 64, o, &without);
  o.outliers = true;
  PackStats with;
  const PackedCimWeights p1 = pack_rtn(w, 4, 64, o, &with);
  EXPECT_EQ(p1.outlier_column(2, 1), 37);
  EXPECT_EQ(p1.dequantized(2, 37), round_to_bf16(3.0f));
  EXPECT_EQ(p1.dequantized(2, 36), 0.0f);  // victim
  // The grid of row 2, block 1 no longer stretches to the spike: its step shrinks ~20x.
  EXPECT_LT(p1.params(2, 1).scale, p0.params(2, 1).scale / 10.0f);
  EXPECT_LT(with.mse, without.mse / 10.0);
  EXPECT_GE(with.outliers, 1);
  // At most one outlier per row per block, by construction and by the invariant check.
  EXPECT_LE(p1.outlier_count(), 4 * 2);
}

// Codes narrower than the cell: with the offsets in the cell every weight dequantizes exactly as
// without offsets (nothing clips), while the clamped offsets lose a level in shifted columns.
TEST(RtnPacker, OffsetsInTheCellAreLossless) {
  for (CodeKind kind : {CodeKind::Signed, CodeKind::Unsigned}) {
    for (int bits : {2, 3}) {
      const auto w = heavy_tailed(96, 128, 9);
      RtnPackOptions o;
      o.grid = GridSpec{bits, kind, 32};
      o.outliers = true;
      const PackedCimWeights none = pack_rtn(w, 96, 128, o);
      o.offsets = true;
      PackStats clamped_stats, in_cell_stats;
      const PackedCimWeights clamped = pack_rtn(w, 96, 128, o, &clamped_stats);
      o.grid.offsets_in_cell = true;
      o.offset_search.max_abs_offset = 2;
      const PackedCimWeights in_cell = pack_rtn(w, 96, 128, o, &in_cell_stats);
      SCOPED_TRACE(testing::Message() << to_string(kind) << " " << bits << "-bit");
      EXPECT_EQ(in_cell.dequantize(), none.dequantize());
      EXPECT_EQ(in_cell_stats.clipped_by_offsets, 0);
      // Unsigned 2-bit codes 0..3 only gain ones from a shift up (the only direction the cell allows).
      EXPECT_LE(count_ones(in_cell).ones, count_ones(none).ones);
      if (kind == CodeKind::Signed) EXPECT_LT(count_ones(in_cell).ones, count_ones(none).ones);
      EXPECT_NE(clamped.dequantize(), none.dequantize());
      for (int c = 0; c < 128; ++c) {  // unsigned cells have no room below 0: offsets are never negative
        EXPECT_GE(in_cell.offset(c), in_cell.grid().in_cell_offset_min());
        EXPECT_LE(in_cell.offset(c), in_cell.grid().in_cell_offset_max());
      }
    }
  }
  RtnPackOptions four;
  four.grid.offsets_in_cell = true;  // 4-bit codes fill the cell
  four.offsets = true;
  EXPECT_THROW(pack_rtn(heavy_tailed(8, 32, 1), 8, 32, four), InvalidArgument);
}

TEST(RtnPacker, MinimisingOffsetsLowerOnesFaithfulRaisesThem) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const auto w = heavy_tailed(128, 256, seed);
    RtnPackOptions o;
    const OnesCount base = count_ones(pack_rtn(w, 128, 256, o));
    o.offsets = true;
    PackStats st;
    const OnesCount minimised = count_ones(pack_rtn(w, 128, 256, o, &st));
    o.offset_search.sign = OffsetSign::Faithful;
    const OnesCount faithful = count_ones(pack_rtn(w, 128, 256, o));
    EXPECT_LT(minimised.ones, base.ones) << seed;
    EXPECT_GT(faithful.ones, base.ones) << seed;
    EXPECT_GT(st.clipped_by_offsets, 0);
  }
}

TEST(RtnPacker, RaggedLastBlockAndSecondLevel) {
  const auto w = heavy_tailed(48, 172, 5);  // LLaMA-style width: 128 + 44
  RtnPackOptions o;
  o.grid.block_size = 128;
  o.outliers = true;
  o.offsets = true;
  o.qq.scale_bits = 4;
  o.qq.zero_bits = 4;
  PackStats st;
  const PackedCimWeights p = pack_rtn(w, 48, 172, o, &st);
  EXPECT_EQ(p.blocks(), 2);
  EXPECT_LT(st.relative_error, 0.5);
  for (int r = 0; r < 48; ++r) {
    const int oc = p.outlier_column(r, 1);
    if (oc != kNoOutlier) {
      EXPECT_GE(oc, 128);
      EXPECT_LT(oc, 172);
    }
  }
}

TEST(RtnPacker, SameInputSameBits) {
  const auto w = heavy_tailed(32, 96, 8);
  RtnPackOptions o;
  o.outliers = true;
  o.offsets = true;
  const auto a = pack_rtn(w, 32, 96, o);
  const auto b = pack_rtn(w, 32, 96, o);
  EXPECT_EQ(a.packed_words(), b.packed_words());
  EXPECT_EQ(heavy_tailed(2, 4, 8), heavy_tailed(2, 4, 8));
}

TEST(RtnPacker, RejectsBadInput) {
  RtnPackOptions o;
  EXPECT_THROW(pack_rtn(std::vector<float>(12), 3, 4, RtnPackOptions{GridSpec{5, CodeKind::Signed, 32}}),
               InvalidArgument);
  EXPECT_THROW(pack_rtn(std::vector<float>(10), 2, 5, o), InvalidArgument);
  EXPECT_THROW(pack_rtn(std::vector<float>(7), 2, 4, o), InvalidArgument);
  std::vector<float> w(8, 0.0f);
  w[3] = NAN;
  EXPECT_THROW(pack_rtn(w, 2, 4, o), InvalidArgument);
}

}  // namespace
}  // namespace oacim
