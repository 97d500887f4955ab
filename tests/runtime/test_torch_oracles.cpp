// Independent oracles from libtorch: our BF16 and fp16 conversions against c10::BFloat16 and
// c10::Half on every rounding class and on random bit patterns.
#include <cstdint>
#include <cstring>
#include <random>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <gtest/gtest.h>

#include "oacim/core/bf16.hpp"
#include "oacim/core/fp16.hpp"

namespace oacim {
namespace {

std::vector<std::uint32_t> interesting_patterns() {
  std::vector<std::uint32_t> out;
  std::mt19937 gen(42);
  for (int i = 0; i < 1 << 20; ++i) out.push_back(gen());
  // Every bf16 boundary: for each upper half, the values just around the rounding midpoint.
  for (std::uint32_t hi = 0; hi < 65536; ++hi) {
    for (std::uint32_t lo : {0x0000u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu}) out.push_back((hi << 16) | lo);
  }
  return out;
}

TEST(TorchOracle, Bf16MatchesC10) {
  for (std::uint32_t bits : interesting_patterns()) {
    float f;
    std::memcpy(&f, &bits, 4);
    const c10::BFloat16 ref(f);
    ASSERT_EQ(Bf16::from_float(f).bits(), ref.x) << std::hex << bits;
    ASSERT_EQ(float_bits(Bf16::from_bits(ref.x).to_float()), float_bits(static_cast<float>(ref))) << std::hex << bits;
  }
}

TEST(TorchOracle, Fp16MatchesC10) {
  std::mt19937 gen(7);
  for (int i = 0; i < 1 << 20; ++i) {
    std::uint32_t bits = gen();
    if (i % 2 == 0) bits = (bits & 0x87FFFFFFu) | 0x38000000u;  // concentrate on the fp16 range
    float f;
    std::memcpy(&f, &bits, 4);
    if (f != f) continue;  // NaN payloads differ between implementations; both stay NaN
    const c10::Half ref(f);
    ASSERT_EQ(fp16_bits_from_float(f), ref.x) << std::hex << bits;
  }
  for (std::uint32_t h = 0; h < 65536; ++h) {
    c10::Half ref;
    ref.x = static_cast<std::uint16_t>(h);
    const float a = float_from_fp16_bits(static_cast<std::uint16_t>(h));
    const float b = static_cast<float>(ref);
    if (a != a) {
      ASSERT_TRUE(b != b);
    } else {
      ASSERT_EQ(float_bits(a), float_bits(b)) << std::hex << h;
    }
  }
}

}  // namespace
}  // namespace oacim
