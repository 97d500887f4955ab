#include "oacim/core/fp16.hpp"

#include "oacim/core/bf16.hpp"

namespace oacim {

std::uint16_t fp16_bits_from_float(float value) {
  const std::uint32_t u = float_bits(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t abs = u & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // Inf or NaN
    if (abs == 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7C00u);
    return static_cast<std::uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));
  }
  const int exp = static_cast<int>(abs >> 23) - 127;
  if (exp > 15) return static_cast<std::uint16_t>(sign | 0x7C00u);  // overflow (before rounding)
  std::uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;                // 24-bit significand
  int shift;                                                           // bits to drop from 24
  std::uint32_t exp_field;
  if (exp >= -14) {  // normal fp16
    shift = 13;
    exp_field = static_cast<std::uint32_t>(exp + 15);
  } else {           // subnormal fp16 (or underflow to zero)
    if (abs == 0) return sign;
    shift = 13 + (-14 - exp);
    if (shift > 25) return sign;  // far below half of the smallest subnormal
    exp_field = 0;
  }
  const std::uint32_t kept = mant >> shift;
  const std::uint32_t rem = mant & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1);
  std::uint32_t rounded = kept;
  if (rem > half || (rem == half && (kept & 1u))) ++rounded;
  std::uint32_t result;
  if (exp_field == 0) {
    result = rounded;  // may carry into the smallest normal: still correct bit pattern
  } else {
    // rounded holds the hidden bit at position 10; a carry to bit 11 bumps the exponent.
    result = (exp_field << 10) + (rounded - 0x400u);
  }
  if (result >= 0x7C00u) result = 0x7C00u;
  return static_cast<std::uint16_t>(sign | result);
}

float float_from_fp16_bits(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exp = (bits >> 10) & 0x1Fu;
  std::uint32_t mant = bits & 0x3FFu;
  if (exp == 0x1F) return float_from_bits(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return float_from_bits(sign);
    int e = -14;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    mant &= 0x3FFu;
    return float_from_bits(sign | (static_cast<std::uint32_t>(e + 127) << 23) | (mant << 13));
  }
  return float_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

std::vector<std::uint16_t> fp16_bits_from_floats(const std::vector<float>& values) {
  std::vector<std::uint16_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = fp16_bits_from_float(values[i]);
  return out;
}

std::vector<float> floats_from_fp16_bits(const std::vector<std::uint16_t>& bits) {
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) out[i] = float_from_fp16_bits(bits[i]);
  return out;
}

}  // namespace oacim
