#pragma once
// Storage accounting of a PackedCimWeights, in bits, as the chip holds it:
//   cells          4 bits per weight (codes, or the BF16 pattern spread over an outlier quad)
//   scales, zeros  16 bits each per (row, block) (BF16 registers), or the second-level code bits
//   second level   2 x 16 bits (fp16 scale and zero) per (row group, block), for scales and zeros
//   offsets        8 bits per input column
//   outlier index  ceil(log2(block_size + 1)) bits per (row, block): none, or the column
#include <cstdint>

#include "oacim/core/packed_cim_weights.hpp"

namespace oacim {

struct StorageBits {
  std::int64_t cells = 0;
  std::int64_t scales = 0;
  std::int64_t zeros = 0;
  std::int64_t second_level = 0;
  std::int64_t offsets = 0;
  std::int64_t outlier_index = 0;
  std::int64_t weights = 0;  // rows * cols

  std::int64_t total() const { return cells + scales + zeros + second_level + offsets + outlier_index; }
  double per_weight() const { return weights ? static_cast<double>(total()) / static_cast<double>(weights) : 0.0; }
};

StorageBits storage_bits(const PackedCimWeights& weights);

}  // namespace oacim
