// BF16 conversion against raw bit patterns (exhaustive round-trip and every rounding class).
#include <cmath>
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "oacim/core/bf16.hpp"

namespace oacim {
namespace {

TEST(Bf16, AllPatternsRoundTrip) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const Bf16 v = Bf16::from_bits(static_cast<std::uint16_t>(b));
    const Bf16 back = Bf16::from_float(v.to_float());
    if (v.is_nan()) {
      EXPECT_EQ(back.bits(), 0x7FC0) << std::hex << b;  // PyTorch's canonical NaN
    } else {
      ASSERT_EQ(back.bits(), b) << std::hex << b;
    }
  }
}

struct RoundingCase {
  std::uint32_t f32;
  std::uint16_t bf16;
  const char* what;
};

TEST(Bf16, RoundingBoundaryClasses) {
  const RoundingCase cases[] = {
      {0x3F800000u, 0x3F80, "1.0 exact"},
      {0x3F807FFFu, 0x3F80, "just below half: down"},
      {0x3F808000u, 0x3F80, "half, even kept bit: down"},
      {0x3F818000u, 0x3F82, "half, odd kept bit: up"},
      {0x3F808001u, 0x3F81, "just above half: up"},
      {0xBF808000u, 0xBF80, "negative half to even"},
      {0xBF818000u, 0xBF82, "negative half odd: away"},
      {0x3FFF8000u, 0x4000, "carry into exponent"},
      {0x7F7F7FFFu, 0x7F7F, "largest that stays finite"},
      {0x7F7F8000u, 0x7F80, "half at the top: overflow to inf"},
      {0x7F7FFFFFu, 0x7F80, "FLT_MAX rounds to inf"},
      {0x7F800000u, 0x7F80, "+inf"},
      {0xFF800000u, 0xFF80, "-inf"},
      {0x7F800001u, 0x7FC0, "signalling NaN"},
      {0x7FC00001u, 0x7FC0, "quiet NaN payload"},
      {0xFFFFFFFFu, 0x7FC0, "negative NaN loses its sign"},
      {0x00000000u, 0x0000, "+0"},
      {0x80000000u, 0x8000, "-0"},
      {0x00000001u, 0x0000, "smallest denormal: down"},
      {0x00008000u, 0x0000, "denormal half, even: down"},
      {0x00018000u, 0x0002, "denormal half, odd: up"},
      {0x00008001u, 0x0001, "denormal above half"},
      {0x007FFFFFu, 0x0080, "largest denormal rounds to the smallest normal"},
      {0x00800000u, 0x0080, "smallest normal"},
      {0x80008001u, 0x8001, "negative denormal"},
  };
  for (const auto& c : cases) {
    float f;
    std::uint32_t bits = c.f32;
    std::memcpy(&f, &bits, 4);
    EXPECT_EQ(Bf16::from_float(f).bits(), c.bf16) << c.what;
  }
}

TEST(Bf16, FieldsAndRoundToBf16) {
  const Bf16 v = Bf16::from_float(-1.5f);
  EXPECT_TRUE(v.sign());
  EXPECT_EQ(v.biased_exponent(), 127);
  EXPECT_EQ(v.mantissa(), 0x40);
  EXPECT_FLOAT_EQ(round_to_bf16(1.00390625f), 1.0f);  // 1 + 2^-8 is a tie: to even
  EXPECT_FLOAT_EQ(round_to_bf16(1.01171875f), 1.015625f);
  EXPECT_TRUE(Bf16::from_bits(0x7F80).is_inf());
  EXPECT_TRUE(Bf16::from_bits(0x7F81).is_nan());
}

}  // namespace
}  // namespace oacim
