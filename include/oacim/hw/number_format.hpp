#pragma once
// Floating-point formats the datapath holds values in (docs/design.md §3): fp32, bf16 and fp16.
// Semantics of "an operation in format F": the operation is evaluated in fp32 (IEEE, no fused
// multiply-add) and its result is rounded to F, nearest-even. Every backend (scalar reference,
// fast model, SystemC) uses these inline helpers so they agree bit for bit.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace oacim::hw {

enum class NumFormat { Fp32, Bf16, Fp16 };

std::string to_string(NumFormat f);
// Throws InvalidArgument(key, ...) for an unknown name.
NumFormat num_format_from_string(const std::string& text, const std::string& key);
// Significand bits including the hidden bit: 24, 8, 11.
int precision_bits(NumFormat f);
// Smallest normal exponent (unbiased): -126, -126, -14.
int min_normal_exponent(NumFormat f);

inline std::uint32_t bits_of(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}
inline float float_of(std::uint32_t u) {
  float v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

// fp32 -> bf16 value (as fp32), nearest-even, NaN -> canonical quiet NaN; same as oacim::round_to_bf16.
inline float round_bf16(float v) {
  std::uint32_t u = bits_of(v);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return float_of(0x7FC00000u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return float_of(u & 0xFFFF0000u);
}

// fp32 -> fp16 value (as fp32), nearest-even with gradual underflow and overflow to infinity.
float round_fp16(float v);

inline float round_to(NumFormat f, float v) {
  switch (f) {
    case NumFormat::Bf16: return round_bf16(v);
    case NumFormat::Fp16: return round_fp16(v);
    case NumFormat::Fp32: break;
  }
  return v;
}

// Sign, integer significand and exponent of a value exactly representable in `f`:
// |v| = mantissa * 2^(exponent - (precision_bits(f) - 1)); subnormals get exponent = min normal.
// Zero has mantissa 0 and exponent = min normal exponent. Not for infinities or NaN.
struct Decomposed {
  bool negative = false;
  std::int32_t mantissa = 0;
  int exponent = 0;
};
Decomposed decompose(float v, NumFormat f);

// The same with the format's precision p and minimum normal exponent emin given (hot loops).
inline Decomposed decompose(float v, int p, int emin) {
  // Bit-level: |v| = sig * 2^e2 from the fp32 fields, then rescaled to the target's significand.
  Decomposed d;
  const std::uint32_t u = bits_of(v);
  d.negative = (u >> 31) != 0;
  const int ef = static_cast<int>((u >> 23) & 0xFFu);
  std::uint32_t sig = u & 0x7FFFFFu;
  int e2 = -149;  // weight of sig's LSB
  int top = 0;    // floor(log2 |v|)
  if (ef != 0) {
    sig |= 0x800000u;
    e2 = ef - 150;
    top = ef - 127;
  } else if (sig != 0) {
    top = 31 - __builtin_clz(sig) - 149;
  } else {
    d.exponent = emin;
    return d;
  }
  const int e = top < emin ? emin : top;
  d.exponent = e;
  const int shift = (e - (p - 1)) - e2;  // >= 0 for values representable in the format
  d.mantissa = shift >= 32 ? 0 : static_cast<std::int32_t>(sig >> shift);
  return d;
}

}  // namespace oacim::hw
