#pragma once
// The floating-point steps of one (row, block) result and its accumulation (docs/design.md §3), in
// their fixed order; each step is an fp32 operation rounded to psum.format:
//   D  = A - O'                      (integers; exact, then converted to the psum format)
//   zs = zero * S'                   (zero held in zero.format)
//   t  = D - zs
//   u  = t * scale                   (scale held in scale.format)
//   v  = u * 2^e                     (e: the alignment group's exponent)
//   y  = y + v                       (blocks in column order, y starts at +0)
//   y  = y + p,  p = w_o * x_o       (only for a block with an outlier; p in outlier.product)
// and at the end of the row the output rounding to output.format.
#include <cstdint>

#include "oacim/hw/number_format.hpp"

namespace oacim::hw {

template <NumFormat P>
inline float block_value(float a_minus_o, float s_prime, float zero_h, float scale_h, float pow2) {
  const float d = round_to(P, a_minus_o);
  const float zs = round_to(P, zero_h * s_prime);
  const float t = round_to(P, d - zs);
  const float u = round_to(P, t * scale_h);
  return round_to(P, u * pow2);
}

inline float block_value(NumFormat p, float a_minus_o, float s_prime, float zero_h, float scale_h, float pow2) {
  switch (p) {
    case NumFormat::Bf16: return block_value<NumFormat::Bf16>(a_minus_o, s_prime, zero_h, scale_h, pow2);
    case NumFormat::Fp16: return block_value<NumFormat::Fp16>(a_minus_o, s_prime, zero_h, scale_h, pow2);
    case NumFormat::Fp32: break;
  }
  return block_value<NumFormat::Fp32>(a_minus_o, s_prime, zero_h, scale_h, pow2);
}

// The outlier product w_o * x_o in the outlier format, converted to the psum format.
inline float outlier_product(NumFormat psum, NumFormat product, float w_o, float x_o) {
  return round_to(psum, round_to(product, w_o * x_o));
}

template <NumFormat P>
inline float accumulate(float y, float v) {
  return round_to(P, y + v);
}

inline float accumulate(NumFormat psum, float y, float v) { return round_to(psum, y + v); }

}  // namespace oacim::hw
