#include "oacim/core/ones_count.hpp"

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/core/quant_grid.hpp"

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
  const int bs = weights.grid().block_size;
  // A (row, block) at a time: its outlier quad (if any) stores the BF16 word, every other quad its codes.
  for (int r = 0; r < weights.rows(); ++r) {
    for (int b = 0; b < weights.blocks(); ++b) {
      const BlockRange br = block_range(b, weights.cols(), bs);
      const int oc = weights.outlier_column(r, b);
      for (int m = br.begin / 4; m < br.end / 4; ++m) {
        const CodeQuad quad = oc != kNoOutlier && oc / 4 == m
                                  ? CodeQuad::from_word(weights.outlier_value(r, b).bits())
                                  : CodeQuad::from_codes({weights.code(r, 4 * m), weights.code(r, 4 * m + 1),
                                                          weights.code(r, 4 * m + 2), weights.code(r, 4 * m + 3)});
        for (int k = 0; k < 4; ++k) out.per_column[static_cast<std::size_t>(4 * m + k)] += quad.cell(k).ones();
        out.ones += quad.ones();
      }
    }
  }
  out.stored_bits = static_cast<std::int64_t>(weights.rows()) * weights.quads_per_row() * 16;
  return out;
}

double ones_change_percent(const OnesCount& before, const OnesCount& after) {
  if (before.ones == 0) return 0.0;
  return 100.0 * static_cast<double>(after.ones - before.ones) / static_cast<double>(before.ones);
}

}  // namespace oacim
