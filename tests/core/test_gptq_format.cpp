// GPTQ layers <-> PackedCimWeights: the bit streams against AutoGPTQ's word layouts written out by
// hand, a layer's values against w = scale * (q - zero), desc_act's g_idx as a column order, and
// import then export as the identity on qweight, qzeros, scales and g_idx; bad layers refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/gptq_format.hpp"
#include "oacim/core/rtn_packer.hpp"

namespace oacim {
namespace {

TEST(GptqFormat, FourBitWordsHoldEightCodesLowestFirst) {
  std::vector<int> codes(16);
  std::iota(codes.begin(), codes.end(), 0);
  const std::vector<std::int32_t> w = pack_code_stream(codes, 4);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(static_cast<std::uint32_t>(w[0]), 0x76543210u);
  EXPECT_EQ(static_cast<std::uint32_t>(w[1]), 0xFEDCBA98u);
  EXPECT_EQ(unpack_code_stream(w.data(), 16, 4), codes);
}

// AutoGPTQ's 3-bit packing: 10 codes in word 0 (bits 0..29), code 10 split (2 low bits at 30, its
// high bit at bit 0 of word 1), 10 codes from bit 1, code 21 split (low bit at 31, two high bits at
// bits 0..1 of word 2), 10 codes from bit 2.
TEST(GptqFormat, ThreeBitWordsFollowAutoGptqsSplitCodes) {
  std::mt19937 rng(3);
  std::vector<int> codes(32);
  for (int& c : codes) c = static_cast<int>(rng() % 8);
  std::uint32_t w[3] = {0, 0, 0};
  for (int j = 0; j < 10; ++j) w[0] |= static_cast<std::uint32_t>(codes[j]) << (3 * j);
  w[0] |= static_cast<std::uint32_t>(codes[10]) << 30;
  w[1] |= (static_cast<std::uint32_t>(codes[10]) >> 2) & 1u;
  for (int j = 0; j < 10; ++j) w[1] |= static_cast<std::uint32_t>(codes[11 + j]) << (3 * j + 1);
  w[1] |= static_cast<std::uint32_t>(codes[21]) << 31;
  w[2] |= (static_cast<std::uint32_t>(codes[21]) >> 1) & 3u;
  for (int j = 0; j < 10; ++j) w[2] |= static_cast<std::uint32_t>(codes[22 + j]) << (3 * j + 2);
  const std::vector<std::int32_t> packed = pack_code_stream(codes, 3);
  ASSERT_EQ(packed.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(static_cast<std::uint32_t>(packed[i]), w[i]) << i;
  EXPECT_EQ(unpack_code_stream(packed.data(), 32, 3), codes);
}

// A random layer: codes q[c][r], zeros z[g][r], fp16 scales, groups of `group` (0: one group),
// scattered over the columns when `desc_act`.
struct Layer {
  GptqLayer l;
  std::vector<std::vector<int>> q, z;  // [C][R], [G][R] (the zeros themselves, not zero - 1)
};

Layer random_layer(int rows, int cols, int bits, int group, bool desc_act, GptqZeros fmt, unsigned seed) {
  std::mt19937 rng(seed);
  const int maxq = (1 << bits) - 1, g_size = group == 0 ? cols : group, G = (cols + g_size - 1) / g_size;
  Layer t;
  t.l.rows = rows;
  t.l.cols = cols;
  t.l.bits = bits;
  t.q.assign(static_cast<std::size_t>(cols), std::vector<int>(static_cast<std::size_t>(rows)));
  t.z.assign(static_cast<std::size_t>(G), std::vector<int>(static_cast<std::size_t>(rows)));
  for (auto& col : t.q) for (int& v : col) v = static_cast<int>(rng() % (maxq + 1));
  for (auto& zg : t.z) for (int& v : zg) v = static_cast<int>(rng() % (maxq + 1)) + (fmt == GptqZeros::V1 ? 1 : 0);
  std::uniform_real_distribution<float> s(0.001f, 0.05f);
  for (int i = 0; i < G * rows; ++i) t.l.scales.push_back(float_from_fp16_bits(fp16_bits_from_float(s(rng))));
  std::vector<int> perm(static_cast<std::size_t>(cols));
  std::iota(perm.begin(), perm.end(), 0);
  if (desc_act) std::shuffle(perm.begin(), perm.end(), rng);
  t.l.g_idx.resize(static_cast<std::size_t>(cols));
  for (int i = 0; i < cols; ++i) t.l.g_idx[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])] = i / g_size;
  const std::size_t kw = static_cast<std::size_t>(cols) * bits / 32;
  t.l.qweight.assign(kw * rows, 0);
  for (int r = 0; r < rows; ++r) {
    std::vector<int> col(static_cast<std::size_t>(cols));
    for (int c = 0; c < cols; ++c) col[static_cast<std::size_t>(c)] = t.q[static_cast<std::size_t>(c)][static_cast<std::size_t>(r)];
    const auto words = pack_code_stream(col, bits);
    for (std::size_t i = 0; i < kw; ++i) t.l.qweight[i * rows + r] = words[i];
  }
  for (int g = 0; g < G; ++g) {
    std::vector<int> stored = t.z[static_cast<std::size_t>(g)];
    for (int& v : stored) v -= fmt == GptqZeros::V1 ? 1 : 0;
    const auto words = pack_code_stream(stored, bits);
    t.l.qzeros.insert(t.l.qzeros.end(), words.begin(), words.end());
  }
  return t;
}

TEST(GptqFormat, ImportedValuesAreScaleTimesCodeMinusZero) {
  for (const bool desc_act : {false, true}) {
    const Layer t = random_layer(16, 128, 4, 64, desc_act, GptqZeros::V1, 5);
    const GptqImport imp = gptq_to_packed(t.l, GptqZeros::V1, "layer");
    EXPECT_EQ(imp.input_order.empty(), !desc_act);
    EXPECT_EQ(imp.weights.grid().block_size, 32);
    EXPECT_EQ(imp.weights.grid().kind, CodeKind::Unsigned);
    for (int r = 0; r < 16; ++r) {
      for (int j = 0; j < 128; ++j) {
        const int c = desc_act ? imp.input_order[static_cast<std::size_t>(j)] : j;
        const int g = t.l.g_idx[static_cast<std::size_t>(c)];
        const float s = t.l.scales[static_cast<std::size_t>(g) * 16 + r];
        const float want = s * static_cast<float>(t.q[static_cast<std::size_t>(c)][static_cast<std::size_t>(r)] -
                                                  t.z[static_cast<std::size_t>(g)][static_cast<std::size_t>(r)]);
        ASSERT_EQ(imp.weights.dequantized(r, j), want) << "row " << r << " chip column " << j;
      }
    }
  }
}

TEST(GptqFormat, ImportThenExportIsTheIdentity) {
  for (const int bits : {2, 3, 4}) {
    for (const int group : {32, 64, 128, 0}) {
      for (const bool desc_act : {false, true}) {
        for (const GptqZeros fmt : {GptqZeros::V1, GptqZeros::V2}) {
          const Layer t = random_layer(32, 256, bits, group, desc_act, fmt, static_cast<unsigned>(bits * 1000 + group + desc_act));
          const GptqImport imp = gptq_to_packed(t.l, fmt, "layer");
          const GptqExport e = packed_to_gptq(imp.weights, imp.input_order, fmt, "layer");
          const std::string what = "bits " + std::to_string(bits) + " group " + std::to_string(group) + (desc_act ? " desc_act" : "");
          EXPECT_EQ(e.group_size, group == 0 ? 256 : group) << what;
          EXPECT_EQ(e.layer.qweight, t.l.qweight) << what;
          EXPECT_EQ(e.layer.qzeros, t.l.qzeros) << what;
          EXPECT_EQ(e.layer.scales, t.l.scales) << what;
          EXPECT_EQ(e.layer.g_idx, t.l.g_idx) << what;
          EXPECT_EQ(e.max_scale_change, 0.0);
        }
      }
    }
  }
}

// oacim's own RTN layer (signed codes) exported and imported again: the same values, the scales
// rounded to fp16 as the export reports.
TEST(GptqFormat, AnOacimLayerExportsAndImportsToTheSameValues) {
  std::mt19937 rng(8);
  std::normal_distribution<float> n(0.0f, 0.02f);
  std::vector<float> w(32 * 128);
  for (float& v : w) v = n(rng);
  RtnPackOptions o;
  const PackedCimWeights p = pack_rtn(w, 32, 128, o);
  const GptqExport e = packed_to_gptq(p, {}, GptqZeros::V1, "layer");
  EXPECT_EQ(e.group_size, 32);
  EXPECT_GT(e.max_scale_change, 0.0);
  EXPECT_LE(e.max_scale_change, 0x1p-11);
  const GptqImport back = gptq_to_packed(e.layer, GptqZeros::V1, "layer");
  for (int r = 0; r < 32; ++r) {
    for (int b = 0; b < p.blocks(); ++b) {
      const float s16 = float_from_fp16_bits(fp16_bits_from_float(p.params(r, b).scale));
      EXPECT_EQ(back.weights.params(r, b).scale, s16);
      for (int c = b * 32; c < b * 32 + 32; ++c) {
        // The same code minus zero: the value differs only by the scale's fp16 rounding.
        EXPECT_EQ(back.weights.code(r, c) - back.weights.params(r, b).zero, p.code(r, c) - p.params(r, b).zero);
      }
    }
  }
}

TEST(GptqFormat, WhatTheLayoutCannotHoldIsRefusedByName) {
  Layer t = random_layer(8, 64, 4, 32, false, GptqZeros::V1, 1);
  GptqLayer bad = t.l;
  bad.bits = 8;
  EXPECT_THROW(gptq_to_packed(bad, GptqZeros::V1, "l"), FormatError);
  bad = t.l;
  bad.g_idx[5] = 7;
  try {
    (void)gptq_to_packed(bad, GptqZeros::V1, "model.layers.0.mlp.up_proj");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.mlp.up_proj: g_idx[5] = 7"), std::string::npos) << e.what();
  }
  bad = t.l;
  bad.qweight.pop_back();
  EXPECT_THROW(gptq_to_packed(bad, GptqZeros::V1, "l"), FormatError);
  bad = t.l;
  bad.scales[3] = std::nanf("");
  EXPECT_THROW(gptq_to_packed(bad, GptqZeros::V1, "l"), FormatError);
  // Outliers have no place in the layout.
  std::vector<float> w(8 * 64, 0.01f);
  w[3] = 5.0f;
  RtnPackOptions o;
  o.outliers = true;
  try {
    (void)packed_to_gptq(pack_rtn(w, 8, 64, o), {}, GptqZeros::V1, "layer x");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("outliers"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oacim
