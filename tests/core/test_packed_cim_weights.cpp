// PackedCimWeights: packing layout, dequantization and every invariant rejected when broken.
#include <cmath>
#include <functional>

#include <gtest/gtest.h>

#include "../support/packed_fixtures.hpp"
#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/second_level.hpp"
#include "oacim/core/storage_bits.hpp"

namespace oacim {
namespace {

TEST(PackedCimWeights, WordsFollowTheDesignLayout) {
  const PackedCimWeights w(test::small_parts());
  EXPECT_EQ(w.blocks(), 2);
  EXPECT_EQ(w.quads_per_row(), 11);
  EXPECT_EQ(w.outlier_count(), 2);
  // Row 0, quad 0: columns 0..3, nibble k = column k.
  const std::uint16_t expect = static_cast<std::uint16_t>(CellCode::from_code(w.code(0, 0)).nibble() |
                                                          CellCode::from_code(w.code(0, 1)).nibble() << 4 |
                                                          CellCode::from_code(w.code(0, 2)).nibble() << 8 |
                                                          CellCode::from_code(w.code(0, 3)).nibble() << 12);
  EXPECT_EQ(w.packed_word(0, 0), expect);
  // Outlier quads hold the BF16 pattern.
  EXPECT_EQ(w.packed_word(1, 1), Bf16::from_float(1.75f).bits());
  EXPECT_EQ(w.packed_word(3, 10), Bf16::from_float(-0.5f).bits());
  EXPECT_TRUE(w.is_outlier_quad(1, 1));
  EXPECT_FALSE(w.is_outlier_quad(1, 2));
  EXPECT_EQ(w.outlier_column(3, 1), 40);
}

TEST(PackedCimWeights, AllWordsAreTheWordsOneByOne) {
  const PackedCimWeights w(test::small_parts());
  const std::vector<std::uint16_t> words = w.packed_words();
  ASSERT_EQ(words.size(), static_cast<std::size_t>(w.rows()) * w.quads_per_row());
  for (int r = 0; r < w.rows(); ++r) {
    for (int m = 0; m < w.quads_per_row(); ++m) {
      EXPECT_EQ(words[static_cast<std::size_t>(r) * w.quads_per_row() + m], w.packed_word(r, m)) << r << "," << m;
    }
  }
}

TEST(PackedCimWeights, DequantizesCodesOutliersAndVictims) {
  const PackedCimWeights w(test::small_parts());
  // Code cell: scale * (q - zero - offset).
  EXPECT_FLOAT_EQ(w.dequantized(0, 2), 0.01f * (static_cast<float>(w.code(0, 2)) - 0.0f - 1.0f));
  EXPECT_FLOAT_EQ(w.dequantized(2, 41), 0.06f * (static_cast<float>(w.code(2, 41)) - 0.0f + 1.0f));
  EXPECT_EQ(w.dequantized(1, 5), 1.75f);   // outlier
  EXPECT_EQ(w.dequantized(1, 4), 0.0f);    // victims
  EXPECT_EQ(w.dequantized(1, 6), 0.0f);
  EXPECT_EQ(w.dequantized(1, 7), 0.0f);
  EXPECT_FLOAT_EQ(w.dequantized(1, 8), 0.03f * (static_cast<float>(w.code(1, 8)) + 1.0f));  // next quad: a code
  EXPECT_EQ(w.dequantized(3, 40), -0.5f);
  EXPECT_EQ(w.dequantized(3, 43), 0.0f);
  const auto all = w.dequantize();
  EXPECT_EQ(all[static_cast<std::size_t>(1 * 44 + 5)], 1.75f);
}

TEST(PackedCimWeights, OnesCountIsThePopcountOfStoredWords) {
  const PackedCimWeights w(test::small_parts());
  const OnesCount ones = count_ones(w);
  std::int64_t expect = 0;
  for (auto word : w.packed_words()) expect += popcount16(word);
  EXPECT_EQ(ones.ones, expect);
  EXPECT_EQ(ones.stored_bits, 4 * 11 * 16);
  std::int64_t per_col = 0;
  for (auto c : ones.per_column) per_col += c;
  EXPECT_EQ(per_col, expect);
  // Column 5 of row 1 is nibble 1 of the BF16 word 0x3FE0.
  const StorageBits sb = storage_bits(w);
  EXPECT_EQ(sb.cells, 4 * 44 * 4);
  EXPECT_EQ(sb.scales, 4 * 2 * 16);
  EXPECT_EQ(sb.outlier_index, 4 * 2 * 6);  // ceil(log2(33)) = 6
  EXPECT_GT(sb.per_weight(), 4.0);
}

using Breaker = std::function<void(PackedCimParts&)>;

struct BrokenCase {
  const char* what;
  Breaker breaker;
};

TEST(PackedCimWeights, RejectsEveryBrokenInvariant) {
  const BrokenCase cases[] = {
      {"code above range", [](PackedCimParts& p) { p.codes[0] = 8; }},
      {"code below range", [](PackedCimParts& p) { p.codes[3] = -9; }},
      {"victim holds a code", [](PackedCimParts& p) { p.codes[1 * 44 + 6] = 3; }},
      {"outlier column holds a code", [](PackedCimParts& p) { p.codes[1 * 44 + 5] = 1; }},
      {"outlier beyond the ragged block", [](PackedCimParts& p) { p.outlier_col[3 * 2 + 1] = 12; }},
      {"negative outlier index", [](PackedCimParts& p) { p.outlier_col[0] = -2; }},
      {"outlier value without outlier", [](PackedCimParts& p) { p.outlier_value[0] = Bf16::from_float(1.0f); }},
      {"non-finite outlier", [](PackedCimParts& p) { p.outlier_value[1 * 2 + 0] = Bf16::from_bits(0x7F80); }},
      {"codes size", [](PackedCimParts& p) { p.codes.pop_back(); }},
      {"offsets size", [](PackedCimParts& p) { p.offsets.push_back(0); }},
      {"offset out of range", [](PackedCimParts& p) { p.offsets[0] = 16; }},
      {"scales size", [](PackedCimParts& p) { p.scales.pop_back(); }},
      {"negative scale", [](PackedCimParts& p) { p.scales[2] = -0.1f; }},
      {"NaN scale", [](PackedCimParts& p) { p.scales[2] = NAN; }},
      {"scale whose weights overflow fp32", [](PackedCimParts& p) { p.scales[2] = 3.4e38f; }},
      {"non-integer zero without second level", [](PackedCimParts& p) { p.zeros[1] = 0.5f; }},
      {"cols not a multiple of 4", [](PackedCimParts& p) { p.cols = 42; }},
      {"5-bit codes do not fit a cell", [](PackedCimParts& p) { p.grid.bits = 5; }},
      {"block size not a multiple of 4", [](PackedCimParts& p) { p.grid.block_size = 30; }},
      {"empty shape", [](PackedCimParts& p) { p.rows = 0; }},
      {"second-level data without qq bits", [](PackedCimParts& p) { p.scale_codes.assign(8, 0); }},
      {"scales disagree with their second-level codes",
       [](PackedCimParts& p) {
         p.qq.scale_bits = 4;
         auto sl = quantize_second_level(p.scales, 4, 2, 4, false, 16);
         p.scale_codes = sl.codes;
         p.scale_qq_scale = sl.qq_scale;
         p.scale_qq_zero = sl.qq_zero;
         p.scales = sl.values;
         p.scales[3] *= 1.5f;
       }},
      {"second-level parameters not fp16",
       [](PackedCimParts& p) {
         p.qq.zero_bits = 4;
         auto sl = quantize_second_level(p.zeros, 4, 2, 4, false, 16);
         p.zero_codes = sl.codes;
         p.zero_qq_scale = sl.qq_scale;
         p.zero_qq_zero = sl.qq_zero;
         p.zeros = sl.values;
         p.zero_qq_scale[0] += 1e-6f;
       }},
  };
  EXPECT_NO_THROW(PackedCimWeights(test::small_parts()));
  for (const auto& c : cases) {
    PackedCimParts p = test::small_parts();
    c.breaker(p);
    EXPECT_THROW(PackedCimWeights(std::move(p)), InvariantError) << c.what;
  }
}

TEST(PackedCimWeights, UnpackRejectsNibblesOutsideA3BitGrid) {
  PackedCimParts p = test::small_parts();
  p.grid.bits = 3;
  std::vector<std::uint16_t> words(4 * 11, 0);
  words[0] = 0x0005;  // 5 is not a 3-bit signed code
  EXPECT_THROW(unpack_words(words, p), InvariantError);
  words[0] = 0x000C;  // -4, sign-extended: valid
  EXPECT_NO_THROW(unpack_words(words, p));
  EXPECT_EQ(p.codes[0], -4);
}

}  // namespace
}  // namespace oacim
