// Number formats, fixed-width registers and input alignment against tables of raw values.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "oacim/core/bf16.hpp"
#include "oacim/core/rng.hpp"
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

// Values that reach every branch of the alignment: zeros of both signs, fp32 and bf16 subnormals,
// bf16 rounding ties, magnitudes that round up to Inf, NaNs whose rounding would carry into the
// sign, infinities, and ordinary values spread over the whole exponent range.
float alignment_probe(Rng& rng) {
  const double pick = rng.uniform();
  const std::uint64_t r = rng.next_u64();
  if (pick < 0.03) return rng.uniform() < 0.5 ? 0.0f : -0.0f;
  if (pick < 0.06) return float_of(static_cast<std::uint32_t>(r & 0x807FFFFFu));              // fp32 subnormal
  if (pick < 0.09) return float_of(static_cast<std::uint32_t>((r & 0x80FF0000u) | 0x8000u));  // bf16 tie
  if (pick < 0.10) return float_of(0x7F7FFFFFu | static_cast<std::uint32_t>(r & 0x80000000u));  // rounds to Inf
  if (pick < 0.11) return float_of(0x7F800001u | static_cast<std::uint32_t>(r & 0x807FFFFFu));  // NaN
  if (pick < 0.12) return rng.uniform() < 0.5 ? INFINITY : -INFINITY;
  const int e = static_cast<int>(r % 60) - 40;  // mostly within a group's reach of each other
  return static_cast<float>(std::ldexp(rng.normal(), pick < 0.2 ? static_cast<int>(r % 260) - 140 : e));
}

TEST(InputAlign, VectorAlignmentEqualsTheScalarOne) {
  Rng rng(2026);
  int vector_groups = 0;
  for (NumFormat f : {NumFormat::Bf16, NumFormat::Fp32, NumFormat::Fp16}) {
    for (int mb = 2; mb <= (f == NumFormat::Bf16 ? 8 : 11); ++mb) {
      for (InputRounding rounding : {InputRounding::Truncate, InputRounding::NearestEven}) {
        HwConfig cfg = cfg_with(mb, rounding);
        cfg.input_format = f;
        for (int n : {4, 12, 16, 20, 32, 36, 100, 256, 260}) {
          for (int trial = 0; trial < 6; ++trial) {
            std::vector<float> x(static_cast<std::size_t>(n));
            // Some groups without any special value, so that a finite group is checked too.
            for (float& v : x) v = trial % 2 ? alignment_probe(rng) : static_cast<float>(rng.normal() * 4.0);
            std::vector<std::int32_t> want(x.size(), -7), got(x.size(), -9);
            const AlignedGroup a = align_group(x.data(), n, cfg, want.data());
            const AlignedGroup b = align_group_fast(x.data(), n, cfg, got.data());
            const std::string what = to_string(f) + " mb " + std::to_string(mb) + " n " + std::to_string(n);
            ASSERT_EQ(got, want) << what;
            ASSERT_EQ(b.exponent, a.exponent) << what;
            ASSERT_EQ(bits_of(b.pow2), bits_of(a.pow2)) << what;
            ASSERT_EQ(b.nonfinite, a.nonfinite) << what;
            ASSERT_EQ(b.flushed, a.flushed) << what;
            vector_groups += align_group_vectorized(cfg) && n <= 256;
          }
        }
      }
    }
  }
  // On a CPU with AVX-512 the vector path must have run (fp16 inputs always take the scalar one).
  if (align_group_vectorized(default_hw_config())) EXPECT_GT(vector_groups, 1000);
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
