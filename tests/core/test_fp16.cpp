// fp16 conversion against raw bit patterns.
#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

#include "oacim/core/fp16.hpp"

namespace oacim {
namespace {

TEST(Fp16, AllPatternsRoundTrip) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float f = float_from_fp16_bits(static_cast<std::uint16_t>(b));
    const std::uint16_t back = fp16_bits_from_float(f);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(float_from_fp16_bits(back)));
    } else {
      ASSERT_EQ(back, b) << std::hex << b;
    }
  }
}

TEST(Fp16, RoundingBoundaryClasses) {
  struct Case {
    float value;
    std::uint16_t bits;
    const char* what;
  };
  const Case cases[] = {
      {1.0f, 0x3C00, "one"},
      {-2.0f, 0xC000, "minus two"},
      {65504.0f, 0x7BFF, "largest finite"},
      {65519.0f, 0x7BFF, "below the overflow midpoint"},
      {65520.0f, 0x7C00, "overflow midpoint: to even (inf)"},
      {1e6f, 0x7C00, "overflow"},
      {std::ldexp(1.0f, -14), 0x0400, "smallest normal"},
      {std::ldexp(1.0f, -24), 0x0001, "smallest subnormal"},
      {std::ldexp(1.0f, -25), 0x0000, "half the smallest subnormal: to even (0)"},
      {std::ldexp(1.5f, -25), 0x0001, "above half the smallest subnormal"},
      {std::ldexp(3.0f, -25), 0x0002, "subnormal tie, odd: up"},
      {1.0f + std::ldexp(1.0f, -11), 0x3C00, "tie, even: down"},
      {1.0f + std::ldexp(3.0f, -11), 0x3C02, "tie, odd: up"},
      {std::ldexp(1023.5f, -24), 0x0400, "subnormal rounding into the smallest normal"},
      {-0.0f, 0x8000, "negative zero"},
  };
  for (const auto& c : cases) EXPECT_EQ(fp16_bits_from_float(c.value), c.bits) << c.what;
  EXPECT_EQ(fp16_bits_from_float(INFINITY), 0x7C00);
  EXPECT_TRUE(std::isnan(round_to_fp16(NAN)));
}

}  // namespace
}  // namespace oacim
