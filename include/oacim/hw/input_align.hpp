#pragma once
// Input alignment (docs/design.md §3): activations are rounded to input.format, split into sign,
// significand and exponent, and every group of inputs is shifted to the group's largest exponent,
// keeping input.mantissa_bits magnitude bits (truncated or rounded, nearest-even). The aligned
// signed mantissa xt of an input has value xt * 2^exponent, exponent shared by the group.
// Bit-serial view: xt in two's complement over mantissa_bits + 1 bit-planes (plane mantissa_bits is
// the sign plane, weight -2^mantissa_bits).
#include <cstdint>
#include <vector>

#include "oacim/hw/hw_config.hpp"

namespace oacim::hw {

struct AlignedGroup {
  int exponent = 0;       // the group's value of one mantissa LSB is 2^exponent
  float pow2 = 1.0f;      // 2^exponent as fp32 (NaN when an input of the group is not finite)
  bool nonfinite = false; // an input was Inf or NaN: the group's results become NaN
  int flushed = 0;        // nonzero inputs whose aligned mantissa became 0
};

// Aligns `n` inputs x[0..n) (fp32, rounded to cfg.input_format first) into xt[0..n).
AlignedGroup align_group(const float* x, int n, const HwConfig& cfg, std::int32_t* xt);

// Bit `plane` (0 = LSB, mantissa_bits = sign) of xt in (mantissa_bits + 1)-bit two's complement.
inline int input_bit(std::int32_t xt, int plane) { return (static_cast<std::uint32_t>(xt) >> plane) & 1u; }

// Alignment groups of a row of `cols` inputs: [begin, end) column ranges.
struct GroupRange {
  int begin;
  int end;
};
std::vector<GroupRange> alignment_groups(int cols, int block_size, const HwConfig& cfg);

// One token: aligns its `cols` inputs group by group into xt[cols] and writes every weight block's
// 2^e into block_pow2[num_blocks(cols, block_size)]. Returns the number of flushed inputs.
std::int64_t align_row(const float* x, int cols, int block_size, const HwConfig& cfg, std::int32_t* xt,
                       float* block_pow2);

}  // namespace oacim::hw
