#include "oacim/hw/input_align.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "oacim/hw/number_format.hpp"

namespace oacim::hw {

AlignedGroup align_group(const float* x, int n, const HwConfig& cfg, std::int32_t* xt) {
  AlignedGroup g;
  const NumFormat f = cfg.input_format;
  const int p = precision_bits(f);
  const int emin = min_normal_exponent(f);
  const int mb = cfg.mantissa_bits;
  const std::int64_t max_mag = (std::int64_t{1} << mb) - 1;
  // Decomposed once, aligned in a second pass; groups are usually one block (<= 256 inputs).
  struct Raw {
    alignas(Decomposed) unsigned char bytes[sizeof(Decomposed)];
  } stack_parts[256];  // raw storage: no per-call zeroing
  std::vector<Decomposed> heap_parts;
  Decomposed* parts = reinterpret_cast<Decomposed*>(stack_parts);
  if (n > 256) {
    heap_parts.resize(static_cast<std::size_t>(n));
    parts = heap_parts.data();
  }
  int emax = emin;
  for (int i = 0; i < n; ++i) {
    const float v = round_to(f, x[i]);
    if (!std::isfinite(v)) {
      g.nonfinite = true;
      parts[i] = Decomposed{false, 0, emin};
      continue;
    }
    parts[i] = decompose(v, p, emin);
    emax = std::max(emax, parts[i].exponent);
  }
  g.exponent = emax - mb + 1;
  g.pow2 = g.nonfinite ? std::numeric_limits<float>::quiet_NaN() : std::ldexp(1.0f, g.exponent);
  const bool truncate = cfg.input_rounding == InputRounding::Truncate;
  for (int i = 0; i < n; ++i) {
    const Decomposed& d = parts[i];
    const int shift = (emax - d.exponent) + (p - mb);  // >= 0
    const std::int64_t m = d.mantissa;
    std::int64_t mag = 0;
    if (shift >= 31) {
      mag = 0;  // significands have at most 11 bits: nothing survives, not even by rounding up
    } else if (truncate) {
      mag = m >> shift;
    } else {
      mag = m >> shift;
      if (shift > 0) {
        const std::int64_t rem = m & ((std::int64_t{1} << shift) - 1);
        const std::int64_t half = std::int64_t{1} << (shift - 1);
        if (rem > half || (rem == half && (mag & 1))) ++mag;
      }
      mag = std::min(mag, max_mag);
    }
    g.flushed += (mag == 0 && m != 0);
    xt[i] = static_cast<std::int32_t>(d.negative ? -mag : mag);
  }
  return g;
}

std::vector<GroupRange> alignment_groups(int cols, int block_size, const HwConfig& cfg) {
  const int g = cfg.align_group == 0 ? block_size : cfg.align_group;
  std::vector<GroupRange> out;
  for (int c = 0; c < cols; c += g) out.push_back({c, std::min(cols, c + g)});
  return out;
}

std::int64_t align_row(const float* x, int cols, int block_size, const HwConfig& cfg, std::int32_t* xt,
                       float* block_pow2, AlignGroupFn align) {
  std::int64_t flushed = 0;
  for (const GroupRange& g : alignment_groups(cols, block_size, cfg)) {
    const AlignedGroup ag = align(x + g.begin, g.end - g.begin, cfg, xt + g.begin);
    flushed += ag.flushed;
    for (int b = g.begin / block_size; b * block_size < g.end; ++b) block_pow2[b] = ag.pow2;
  }
  return flushed;
}

}  // namespace oacim::hw
