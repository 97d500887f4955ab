#pragma once
// A signed two's-complement register of `bits` bits (adder-tree output, shift-accumulator) and
// what it does with a value it cannot hold: saturate to the nearest bound or wrap modulo 2^bits.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "oacim/hw/hw_config.hpp"

namespace oacim::hw {

struct FixedWidth {
  int bits = 16;
  Overflow mode = Overflow::Saturate;

  std::int64_t max() const { return (std::int64_t{1} << (bits - 1)) - 1; }
  std::int64_t min() const { return -(std::int64_t{1} << (bits - 1)); }

  // The value the register holds after being assigned `v`; sets `overflowed` when v did not fit.
  std::int64_t apply(std::int64_t v, bool& overflowed) const {
    overflowed = v > max() || v < min();
    if (!overflowed) return v;
    if (mode == Overflow::Saturate) return v > max() ? max() : min();
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    std::uint64_t u = static_cast<std::uint64_t>(v) & mask;
    if (u >> (bits - 1)) u |= ~mask;  // sign-extend
    return static_cast<std::int64_t>(u);
  }
};

// Whether bit-serial sums over `cells` cells of codes in [code_min, code_max], shift-accumulated
// over `planes` input planes, always fit both registers: then neither can clip, and the planes'
// sums add up without the saturate/wrap steps (the fast model's single pass, the SystemC macro's
// unchecked tiles).
inline bool bit_serial_cannot_clip(const FixedWidth& tree, const FixedWidth& acc, std::int64_t cells, int code_min,
                                   int code_max, int planes) {
  const std::int64_t qabs = std::max(std::abs(code_min), std::abs(code_max));
  const std::int64_t tree_lo = cells * std::min(code_min, 0);
  const std::int64_t tree_hi = cells * std::max(code_max, 0);
  const std::int64_t acc_bound = cells * qabs * ((std::int64_t{1} << planes) - 1);
  return tree_lo >= tree.min() && tree_hi <= tree.max() && acc_bound <= acc.max();
}

// One step of the MSB-first shift-accumulator: the sign plane enters negated, every later plane
// as acc = 2 * acc + tree. Returns the new register value.
inline std::int64_t shift_accumulate(const FixedWidth& acc_reg, std::int64_t acc, std::int64_t tree, bool sign_plane,
                                     bool& overflowed) {
  return acc_reg.apply(sign_plane ? -tree : 2 * acc + tree, overflowed);
}

}  // namespace oacim::hw
