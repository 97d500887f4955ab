// The shared quantization grid: ranges, round trips at every bit width, ties, degenerate ranges.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "oacim/core/error.hpp"
#include "oacim/core/quant_grid.hpp"

namespace oacim {
namespace {

TEST(QuantGrid, CodeRanges) {
  for (int bits = 2; bits <= 8; ++bits) {
    GridSpec s{bits, CodeKind::Signed, 32};
    EXPECT_EQ(s.code_min(), -(1 << (bits - 1)));
    EXPECT_EQ(s.code_max(), (1 << (bits - 1)) - 1);
    s.kind = CodeKind::Unsigned;
    EXPECT_EQ(s.code_min(), 0);
    EXPECT_EQ(s.code_max(), (1 << bits) - 1);
  }
  EXPECT_EQ((GridSpec{4, CodeKind::Signed, 32}.code_min()), -8);
  EXPECT_EQ((GridSpec{3, CodeKind::Signed, 32}.code_max()), 3);
}

TEST(QuantGrid, RoundTripEveryBitWidth) {
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int bits = 2; bits <= 8; ++bits) {
    for (CodeKind kind : {CodeKind::Signed, CodeKind::Unsigned}) {
      const GridSpec s{bits, kind, 32};
      for (int trial = 0; trial < 50; ++trial) {
        float a = u(gen);
        float b = u(gen);
        if (a == b) continue;
        const GridParams p = fit_minmax(std::min(a, b), std::max(a, b), s);
        ASSERT_GT(p.scale, 0.0f);
        ASSERT_EQ(p.zero, std::nearbyint(p.zero));
        for (int offset : {0, 1, -1}) {
          for (int q = s.code_min(); q <= s.code_max(); ++q) {
            const float x = dequantize_code(q, p, offset);
            ASSERT_EQ(quantize_code(x, p, offset, s), q) << "bits " << bits << " q " << q;
          }
        }
        // Unsigned: every value of the range is within half a step. Signed: the integer zero moves
        // the centred codes by up to half a step, so one end may clamp by up to a full step.
        const float bound = kind == CodeKind::Unsigned ? 0.5f : 1.0f;
        for (int i = 0; i <= 100; ++i) {
          const float x = std::min(a, b) + (std::fabs(a - b) * static_cast<float>(i)) / 100.0f;
          const float err = std::fabs(x - dequantize_code(quantize_code(x, p, 0, s), p, 0));
          ASSERT_LE(err, bound * p.scale * 1.0001f + 1e-6f) << "bits " << bits;
        }
      }
    }
  }
}

TEST(QuantGrid, SignedRangeMapsOntoCentredCodes) {
  const GridSpec s{4, CodeKind::Signed, 32};
  const GridParams p = fit_minmax(-1.0f, 2.0f, s);
  EXPECT_FLOAT_EQ(p.scale, 0.2f);
  EXPECT_EQ(p.zero, std::nearbyint(-2.5f));  // -(2 + -1) / (2 * 0.2) = -2.5 -> -2 (half to even)
  EXPECT_EQ(quantize_code(-1.0f, p, 0, s), -7);
  EXPECT_EQ(quantize_code(2.0f, p, 0, s), 7);  // 10 - 2 = 8, clamped
  EXPECT_TRUE(is_clipped(2.0f, p, 0, s));
  EXPECT_FALSE(is_clipped(1.0f, p, 0, s));
}

TEST(QuantGrid, RoundsHalfToEven) {
  const GridSpec s{4, CodeKind::Unsigned, 32};
  const GridParams p{1.0f, 0.0f};
  EXPECT_EQ(quantize_code(2.5f, p, 0, s), 2);
  EXPECT_EQ(quantize_code(3.5f, p, 0, s), 4);
  EXPECT_EQ(quantize_code(-0.5f, p, 0, s), 0);
  EXPECT_EQ(quantize_code(99.0f, p, 0, s), 15);
}

TEST(QuantGrid, DegenerateRangeIsExact) {
  for (CodeKind kind : {CodeKind::Signed, CodeKind::Unsigned}) {
    const GridSpec s{4, kind, 32};
    for (float v : {0.0f, 3.5f, -2.25f, 1e-8f}) {
      const GridParams p = fit_minmax(v, v, s);
      EXPECT_GT(p.scale, 0.0f);
      EXPECT_EQ(dequantize_code(quantize_code(v, p, 0, s), p, 0), v) << v;
    }
  }
}

TEST(QuantGrid, RejectsBadSpecs) {
  EXPECT_THROW((GridSpec{1, CodeKind::Signed, 32}.validate()), InvalidArgument);
  EXPECT_THROW((GridSpec{9, CodeKind::Signed, 32}.validate()), InvalidArgument);
  EXPECT_THROW((GridSpec{4, CodeKind::Signed, 6}.validate()), InvalidArgument);
  EXPECT_THROW((GridSpec{4, CodeKind::Signed, 0}.validate()), InvalidArgument);
  EXPECT_THROW(fit_minmax(1.0f, 0.0f, GridSpec{}), InvalidArgument);
  EXPECT_THROW(fit_minmax(0.0f, INFINITY, GridSpec{}), InvalidArgument);
  EXPECT_THROW(code_kind_from_string("both", "code_kind"), InvalidArgument);
  EXPECT_EQ(code_kind_from_string("sym", "k"), CodeKind::Signed);
}

TEST(QuantGrid, RaggedLastBlock) {
  EXPECT_EQ(num_blocks(44, 32), 2);
  EXPECT_EQ(block_range(1, 44, 32).begin, 32);
  EXPECT_EQ(block_range(1, 44, 32).size(), 12);
  EXPECT_EQ(num_blocks(172, 128), 2);
  EXPECT_EQ(block_range(1, 172, 128).size(), 44);
  EXPECT_EQ(num_blocks(64, 32), 2);
}

}  // namespace
}  // namespace oacim
