#pragma once
// Ones-count of what the CIM array stores: the `1` bits of every 16-bit (row, quad) word, i.e. the
// nibbles of code quads and the BF16 patterns of outlier quads. Reported per column (nibble k of a
// word belongs to column 4m+k), per layer, and as a fraction of stored bits.
#include <cstdint>
#include <vector>

#include "oacim/core/packed_cim_weights.hpp"

namespace oacim {

struct OnesCount {
  std::int64_t ones = 0;         // `1` bits stored
  std::int64_t stored_bits = 0;  // bits stored (16 per word)
  std::vector<std::int64_t> per_column;  // [C]

  double fraction() const { return stored_bits ? static_cast<double>(ones) / static_cast<double>(stored_bits) : 0.0; }
  OnesCount& operator+=(const OnesCount& other);  // layer totals (per_column only if shapes match)
};

OnesCount count_ones(const PackedCimWeights& weights);

// Relative change of `after` against `before`, in percent (negative = fewer ones).
double ones_change_percent(const OnesCount& before, const OnesCount& after);

}  // namespace oacim
