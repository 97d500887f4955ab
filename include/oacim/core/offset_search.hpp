#pragma once
// Per-input-column offsets that lower the number of `1` bits of the stored codes
// (docs/algorithms.md A.5, docs/design.md §2). The codes of column c are stored as clamp(a + o_c); the chip
// subtracts o_c again through one shared dot product per block.
//
// Two selection rules:
//  - Minimise (default): the exact argmin, over o in [-max_abs_offset, max_abs_offset], of the true
//    popcount of the stored cells clamp(a + o, code_min, code_max); ties go to the smaller |o|, then
//    to the negative one. With offsets in the cell (GridSpec::offsets_in_cell) the cells hold a + o
//    unclamped and only offsets that keep every code inside the 4-bit cell are candidates.
//  - Faithful: upstream's rule, bugs included: a 4-bit popcount model with values clamped to ±7,
//    a histogram that ignores code -8, the three cheapest shifts b, the smallest |b| of them, and
//    the returned offset o = -b (the opposite sign to the one its own model found, about +7% ones).
//    The result is then clamped to ±max_abs_offset (upstream clamps to ±1 without outliers).
//
// Error-aware (Minimise with error_weight = lambda > 0): the argmin of
// ones(o) + lambda * error(o), where error(o) is the increase of the column's squared scaled
// quantization error under offset o (a shifted code that leaves the range is clipped), in units of
// the layer's mean squared error per cell: lambda is how many stored `1` bits one cell's worth of
// error is worth. lambda = 0 is the pure popcount rule; a large lambda keeps only the offsets
// that cost no accuracy.
#include <cstdint>
#include <string>
#include <vector>

#include "oacim/core/quant_grid.hpp"

namespace oacim {

enum class OffsetSign { Minimise, Faithful };

std::string to_string(OffsetSign sign);
OffsetSign offset_sign_from_string(const std::string& text, const std::string& key);

struct OffsetSearchOptions {
  OffsetSign sign = OffsetSign::Minimise;
  int max_abs_offset = 1;  // candidate set [-m, m]; upstream: 1 without outliers, 7 with them
  double error_weight = 0.0;  // lambda: `1` bits per unit of error increase (Minimise only; 0 = popcount alone)

  void validate(const GridSpec& grid) const;
};

// The --max-offset a run gets when none is given: upstream's 7 with outliers under its
// (faithful) sign, 1 otherwise.
int default_max_abs_offset(OffsetSign sign, bool outliers);

// The offset chosen for one column and what it does to that column's stored cells.
struct OffsetChoice {
  int offset = 0;
  std::int64_t ones_before = 0;  // popcount of the column's cells with offset 0
  std::int64_t ones_after = 0;   // popcount of clamp(a + offset)
  std::int64_t clipped = 0;      // codes for which a + offset leaves the code range
  double error_increase = 0.0;   // the chosen offset's error cost (as passed to choose), 0 without
};

class OffsetSearch {
 public:
  OffsetSearch(GridSpec grid, OffsetSearchOptions options);

  // `codes` are the zero-offset codes of one column (one per row), as stored in the cells.
  // `error_costs` (index o + max_abs_offset, from error_costs() divided by the mean squared error
  // per cell) enter with weight error_weight; required when error_weight > 0.
  OffsetChoice choose(const std::vector<int>& codes, const std::vector<double>* error_costs = nullptr) const;

  // For one column: sum over its rows of ((w_r - qhat_r(o))^2 - (w_r - qhat_r(0))^2) / d^2, index
  // o + max_abs_offset, where qhat_r(o) = dequantize(quantize(w_r, params_r, o), params_r, o) and d
  // is the column's Hessian scale (GPTQ's U[j][j]; 1 without a Hessian).
  std::vector<double> error_costs(const std::vector<double>& w, const std::vector<GridParams>& params, double d) const;

  // Popcount of the stored cell clamp(code + offset) (clamped to the stored range: the code range,
  // or the cell's with offsets in the cell).
  int stored_ones(int code, int offset) const;
  // Whether `offset` keeps every code in the cell (always, unless offsets live in the cell).
  bool allowed(int offset) const;
  // Cost of every candidate offset, index o + max_abs_offset (for tests and reports).
  std::vector<std::int64_t> candidate_costs(const std::vector<int>& codes) const;

  const GridSpec& grid() const { return grid_; }
  const OffsetSearchOptions& options() const { return options_; }

 private:
  int faithful_offset(const std::vector<int>& codes) const;

  GridSpec grid_;
  OffsetSearchOptions options_;
};

}  // namespace oacim
