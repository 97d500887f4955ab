// Number formats, fixed-width registers and input alignment against tables of raw values.
#include <gtest/gtest.h>

#include <cmath>

#include "oacim/core/bf16.hpp"
#include "oacim/hw/fixed_width.hpp"
#include "oacim/hw/input_align.hpp"
#include "oacim/hw/number_format.hpp"

namespace oacim::hw {
namespace {

TEST(NumberFormat, InlineBf16RoundingMatchesCore) {
  // Every 2^-16th pattern step plus the specials: the inline copy must equal core's c10-checked one.
  for (std::uint64_t u = 0; u <= 0xFFFFFFFFull; u += 65521) {
    const float v = float_of(static_cast<std::uint32_t>(u));
    EXPECT_EQ(bits_of(round_bf16(v)), float_bits(oacim::round_to_bf16(v))) << std::hex << u;
  }
}

TEST(NumberFormat, DecomposeTable) {
  struct Row {
    float v;
    NumFormat f;
    bool neg;
    int mant;
    int exp;
  };
  const Row rows[] = {
      {1.0f, NumFormat::Bf16, false, 128, 0},    {0.75f, NumFormat::Bf16, false, 192, -1},
      {-3.0f, NumFormat::Bf16, true, 192, 1},    {std::ldexp(1.0f, -133), NumFormat::Bf16, false, 1, -126},
      {std::ldexp(1.0f, -126), NumFormat::Bf16, false, 128, -126}, {0.0f, NumFormat::Bf16, false, 0, -126},
      {1.0f, NumFormat::Fp16, false, 1024, 0},   {std::ldexp(1.0f, -24), NumFormat::Fp16, false, 1, -14},
      {65504.0f, NumFormat::Fp16, false, 2047, 15}, {-0.0f, NumFormat::Fp16, true, 0, -14},
  };
  for (const Row& r : rows) {
    const Decomposed d = decompose(r.v, r.f);
    EXPECT_EQ(d.negative, r.neg) << r.v;
    EXPECT_EQ(d.mantissa, r.mant) << r.v;
    EXPECT_EQ(d.exponent, r.exp) << r.v;
  }
}

TEST(FixedWidth, SaturateAndWrapTable) {
  const FixedWidth sat{4, Overflow::Saturate};
  const FixedWidth wrap{4, Overflow::Wrap};
  struct Row {
    std::int64_t in, sat, wrap;
    bool overflow;
  };
  const Row rows[] = {{7, 7, 7, false},   {8, 7, -8, true},   {-8, -8, -8, false}, {-9, -8, 7, true},
                      {16, 7, 0, true},   {-17, -8, -1, true}, {0, 0, 0, false},   {23, 7, 7, true}};
  for (const Row& r : rows) {
    bool of = false;
    EXPECT_EQ(sat.apply(r.in, of), r.sat) << r.in;
    EXPECT_EQ(of, r.overflow);
    EXPECT_EQ(wrap.apply(r.in, of), r.wrap) << r.in;
    EXPECT_EQ(of, r.overflow);
  }
}

TEST(FixedWidth, ShiftAccumulateReassemblesTwosComplement) {
  const FixedWidth acc{24, Overflow::Saturate};
  for (int xt = -256; xt <= 255; ++xt) {
    std::int64_t a = 0;
    bool of = false;
    for (int plane = 8; plane >= 0; --plane) a = shift_accumulate(acc, a, input_bit(xt, plane), plane == 8, of);
    EXPECT_EQ(a, xt);
  }
}

HwConfig cfg_with(int mantissa_bits, InputRounding rounding) {
  HwConfig c = default_hw_config();
  c.mantissa_bits = mantissa_bits;
  c.input_rounding = rounding;
  return c;
}

TEST(InputAlign, MaxExponentTruncation) {
  const float x[] = {1.0f, 0.5f, -0.375f, 3e-5f, 0.0f, 1.9921875f};
  std::int32_t xt[6];
  const AlignedGroup g = align_group(x, 6, cfg_with(8, InputRounding::Truncate), xt);
  EXPECT_EQ(g.exponent, -7);
  EXPECT_EQ(g.pow2, std::ldexp(1.0f, -7));
  EXPECT_EQ(xt[0], 128);
  EXPECT_EQ(xt[1], 64);
  EXPECT_EQ(xt[2], -48);
  EXPECT_EQ(xt[3], 0);  // 3e-5 ~ 2^-15: shifted out entirely
  EXPECT_EQ(xt[4], 0);
  EXPECT_EQ(xt[5], 255);
  EXPECT_EQ(g.flushed, 1);
  EXPECT_FALSE(g.nonfinite);
}

TEST(InputAlign, NearestEvenTiesAndSaturation) {
  // mantissa_bits 6 drops two bits of an 8-bit bf16 significand at the group maximum.
  const float x[] = {1.0f, 1.015625f /*m=130: 32.5 -> 32*/, 1.046875f /*m=134: 33.5 -> 34*/,
                     1.9921875f /*m=255: 63.75 -> 64 -> saturates at 63*/, -1.0234375f /*m=131: 32.75 -> 33*/};
  std::int32_t rne[5];
  std::int32_t trunc[5];
  const AlignedGroup g = align_group(x, 5, cfg_with(6, InputRounding::NearestEven), rne);
  align_group(x, 5, cfg_with(6, InputRounding::Truncate), trunc);
  EXPECT_EQ(g.exponent, -5);
  const std::int32_t want_rne[] = {32, 32, 34, 63, -33};
  const std::int32_t want_trunc[] = {32, 32, 33, 63, -32};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rne[i], want_rne[i]) << i;
    EXPECT_EQ(trunc[i], want_trunc[i]) << i;
  }
}

TEST(InputAlign, Fp32InputsAreRoundedToBf16First) {
  const float x[] = {1.00390625f /* 1 + 2^-8: a tie, rounds to 1.0 in bf16 */, 1.01171875f /* 1+3*2^-8 -> 1.015625 */};
  std::int32_t xt[2];
  align_group(x, 2, cfg_with(8, InputRounding::Truncate), xt);
  EXPECT_EQ(xt[0], 128);
  EXPECT_EQ(xt[1], 130);
}

TEST(InputAlign, NonFiniteGroupGivesNaNScale) {
  const float x[] = {1.0f, INFINITY, 2.0f};
  std::int32_t xt[3];
  const AlignedGroup g = align_group(x, 3, default_hw_config(), xt);
  EXPECT_TRUE(g.nonfinite);
  EXPECT_TRUE(std::isnan(g.pow2));
  EXPECT_EQ(xt[1], 0);
}

TEST(InputAlign, GroupsFollowTheBlockOrTheConfig) {
  HwConfig c = default_hw_config();
  auto groups = alignment_groups(100, 32, c);
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[3].begin, 96);
  EXPECT_EQ(groups[3].end, 100);
  c.align_group = 64;
  groups = alignment_groups(100, 32, c);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].begin, 64);
}

}  // namespace
}  // namespace oacim::hw
