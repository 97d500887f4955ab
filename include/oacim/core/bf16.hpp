#pragma once
// BF16 (bfloat16): 1 sign bit, 8 exponent bits, 7 mantissa bits. Conversion from fp32 rounds to
// nearest, ties to even, exactly like PyTorch's c10::BFloat16 (every NaN becomes 0x7FC0,
// infinities and denormals keep their bit-level meaning, overflow rounds to infinity).
#include <cstdint>

namespace oacim {

class Bf16 {
 public:
  constexpr Bf16() = default;
  static constexpr Bf16 from_bits(std::uint16_t bits) { return Bf16(bits); }
  static Bf16 from_float(float value);

  float to_float() const;
  constexpr std::uint16_t bits() const { return bits_; }

  constexpr bool sign() const { return (bits_ & 0x8000u) != 0; }
  constexpr int biased_exponent() const { return (bits_ >> 7) & 0xFF; }
  constexpr int mantissa() const { return bits_ & 0x7F; }
  constexpr bool is_nan() const { return biased_exponent() == 0xFF && mantissa() != 0; }
  constexpr bool is_inf() const { return biased_exponent() == 0xFF && mantissa() == 0; }

  friend constexpr bool operator==(Bf16 a, Bf16 b) { return a.bits_ == b.bits_; }
  friend constexpr bool operator!=(Bf16 a, Bf16 b) { return a.bits_ != b.bits_; }

 private:
  constexpr explicit Bf16(std::uint16_t bits) : bits_(bits) {}
  std::uint16_t bits_ = 0;
};

// fp32 -> nearest BF16 value, returned as fp32 (what the hardware holds after rounding).
float round_to_bf16(float value);

// Bit pattern helpers shared by the BF16 and FP16 code.
std::uint32_t float_bits(float value);
float float_from_bits(std::uint32_t bits);

}  // namespace oacim
