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

// The same bits and flush count as align_group(), sixteen inputs at a time with AVX-512 for bf16
// and fp32 input formats and groups of at most 256 inputs (src/hw/fast_align.cpp); align_group()
// itself otherwise (fp16 inputs, no AVX-512). The fast datapath aligns with it.
AlignedGroup align_group_fast(const float* x, int n, const HwConfig& cfg, std::int32_t* xt);
// Whether align_group_fast() takes its vector path for this config on this CPU.
bool align_group_vectorized(const HwConfig& cfg);

// align_group() or an implementation with the same bits (align_group_fast).
using AlignGroupFn = AlignedGroup (*)(const float* x, int n, const HwConfig& cfg, std::int32_t* xt);

// Alignment groups of a row of `cols` inputs: [begin, end) column ranges.
struct GroupRange {
  int begin;
  int end;
};
std::vector<GroupRange> alignment_groups(int cols, int block_size, const HwConfig& cfg);

// One token: aligns its `cols` inputs group by group into xt[cols] and writes every weight block's
// 2^e into block_pow2[num_blocks(cols, block_size)]. Returns the number of flushed inputs.
std::int64_t align_row(const float* x, int cols, int block_size, const HwConfig& cfg, std::int32_t* xt,
                       float* block_pow2, AlignGroupFn align = align_group);

}  // namespace oacim::hw
