#include "oacim/core/ones_count.hpp"

#include "oacim/core/cim_cell.hpp"

namespace oacim {

OnesCount& OnesCount::operator+=(const OnesCount& other) {
  ones += other.ones;
  stored_bits += other.stored_bits;
  if (per_column.size() == other.per_column.size()) {
    for (std::size_t c = 0; c < per_column.size(); ++c) per_column[c] += other.per_column[c];
  } else {
    per_column.clear();
  }
  return *this;
}

OnesCount count_ones(const PackedCimWeights& weights) {
  OnesCount out;
  out.per_column.assign(static_cast<std::size_t>(weights.cols()), 0);
  for (int r = 0; r < weights.rows(); ++r) {
    for (int m = 0; m < weights.quads_per_row(); ++m) {
      const CodeQuad quad = CodeQuad::from_word(weights.packed_word(r, m));
      for (int k = 0; k < 4; ++k) out.per_column[static_cast<std::size_t>(4 * m + k)] += quad.cell(k).ones();
      out.ones += quad.ones();
      out.stored_bits += 16;
    }
  }
  return out;
}

double ones_change_percent(const OnesCount& before, const OnesCount& after) {
  if (before.ones == 0) return 0.0;
  return 100.0 * static_cast<double>(after.ones - before.ones) / static_cast<double>(before.ones);
}

}  // namespace oacim
