// Second-level quantization of scales and zeros.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/second_level.hpp"

namespace oacim {
namespace {

std::vector<float> random_values(int n, float lo, float hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = u(gen);
  return v;
}

TEST(SecondLevel, AsymmetricGroupsReproduceWithinHalfStep) {
  const int rows = 40;  // 16 + 16 + 8: a ragged last group
  const int blocks = 3;
  const auto v = random_values(rows * blocks, 0.001f, 0.05f, 3);
  for (int bits : {2, 3, 4, 8}) {
    const auto r = quantize_second_level(v, rows, blocks, bits, false, 16);
    ASSERT_EQ(r.qq_scale.size(), 3u * blocks);
    for (std::size_t g = 0; g < r.qq_scale.size(); ++g) {
      EXPECT_EQ(round_to_fp16(r.qq_scale[g]), r.qq_scale[g]);
      EXPECT_EQ(round_to_fp16(r.qq_zero[g]), r.qq_zero[g]);
    }
    for (int row = 0; row < rows; ++row) {
      for (int b = 0; b < blocks; ++b) {
        const std::size_t i = static_cast<std::size_t>(row) * blocks + b;
        const std::size_t gi = static_cast<std::size_t>(row / 16) * blocks + b;
        ASSERT_LE(r.codes[i], (1 << bits) - 1);
        EXPECT_EQ(r.values[i], r.qq_scale[gi] * (static_cast<float>(r.codes[i]) - r.qq_zero[gi]));
        // fp16 rounding of the zero may shift the grid by a hair; allow 1% of a step on top of half.
        EXPECT_LE(std::fabs(r.values[i] - v[i]), 0.51f * r.qq_scale[gi]) << "bits " << bits;
      }
    }
    const auto back = dequantize_second_level(r.codes, r.qq_scale, r.qq_zero, rows, blocks, 16);
    EXPECT_EQ(back, r.values);
  }
}

TEST(SecondLevel, GroupSizeIsHonoured) {
  const auto v = random_values(256, 0.001f, 0.05f, 5);
  const auto g4 = quantize_second_level(v, 256, 1, 3, false, 4);
  const auto g16 = quantize_second_level(v, 256, 1, 3, false, 16);
  EXPECT_EQ(g4.qq_scale.size(), 64u);
  EXPECT_EQ(g16.qq_scale.size(), 16u);
  double e4 = 0;
  double e16 = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    e4 += std::pow(g4.values[i] - v[i], 2);
    e16 += std::pow(g16.values[i] - v[i], 2);
  }
  EXPECT_LT(e4, e16);  // smaller groups fit better
}

TEST(SecondLevel, SymmetricZeroGrid) {
  const std::vector<float> v = {-3.0f, 1.0f, 2.0f, 0.0f};
  const auto r = quantize_second_level(v, 4, 1, 4, true, 16);
  EXPECT_EQ(r.qq_zero[0], 8.0f);               // (maxq + 1) / 2
  EXPECT_FLOAT_EQ(r.qq_scale[0], round_to_fp16(6.0f / 15.0f));
  EXPECT_EQ(r.values[3], 0.0f);                // 0 is a level of the symmetric grid
}

TEST(SecondLevel, ConstantGroupIsExact) {
  const std::vector<float> v(16, 0.0125f);
  const auto r = quantize_second_level(v, 16, 1, 4, false, 16);
  for (float x : r.values) EXPECT_NEAR(x, 0.0125f, 1e-5f);
}

TEST(SecondLevel, ValidatesSpec) {
  SecondLevelSpec s;
  s.zero_bits = 5;
  EXPECT_THROW(s.validate(4), InvalidArgument);
  s.zero_bits = 4;
  EXPECT_NO_THROW(s.validate(4));
  s.group_size = 0;
  EXPECT_THROW(s.validate(4), InvalidArgument);
  s.group_size = 16;
  s.scale_bits = 9;
  EXPECT_THROW(s.validate(4), InvalidArgument);
}

}  // namespace
}  // namespace oacim
