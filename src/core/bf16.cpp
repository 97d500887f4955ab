#include "oacim/core/bf16.hpp"

#include <cstring>

namespace oacim {

std::uint32_t float_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float float_from_bits(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

Bf16 Bf16::from_float(float value) {
  const std::uint32_t u = float_bits(value);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu) != 0) {
    return Bf16(0x7FC0);  // PyTorch canonicalises every NaN (sign dropped)
  }
  // Adding 0x7FFF plus the lowest kept bit rounds to nearest, ties to even; a carry into the
  // exponent is the correct result (up to infinity).
  const std::uint32_t rounding_bias = 0x7FFFu + ((u >> 16) & 1u);
  return Bf16(static_cast<std::uint16_t>((u + rounding_bias) >> 16));
}

float Bf16::to_float() const { return float_from_bits(static_cast<std::uint32_t>(bits_) << 16); }

float round_to_bf16(float value) { return Bf16::from_float(value).to_float(); }

}  // namespace oacim
