#pragma once
// Round-to-nearest packing of a float weight matrix into PackedCimWeights, torch-free: the format's
// reference producer (no Hessian; GPTQ-based quantizers share the grid, offsets and format).
// Per (row, block) the candidate with the lowest squared error wins, ties to "no outlier": no
// outlier with the min/max grid of the whole block row, or an outlier at column c (kept in BF16)
// whose quad neighbours are zeroed and whose grid is fitted to the columns outside that quad.
// Then the scales and zeros go through the second level, and every code cell is rounded on the
// final grid. With offsets, OffsetSearch picks o_c per column from those codes (cells of outlier
// quads excluded) and the cells are rounded again with the offsets.
#include <cstdint>
#include <vector>

#include "oacim/core/offset_search.hpp"
#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/core/quant_grid.hpp"
#include "oacim/core/second_level.hpp"

namespace oacim {

struct RtnPackOptions {
  GridSpec grid;
  SecondLevelSpec qq;
  bool outliers = false;        // one BF16 outlier per row per block, in place of its quad
  bool offsets = false;         // per-column offsets chosen by OffsetSearch
  OffsetSearchOptions offset_search;

  void validate() const;
};

// Per-layer statistics of one packing (no ones-count: see count_ones).
struct PackStats {
  double mse = 0.0;             // mean (w - w_hat)^2
  double relative_error = 0.0;  // ||W - W_hat||_F / ||W||_F
  double max_abs_error = 0.0;
  double sqnr_db = 0.0;         // 10 log10(||W||^2 / ||W - W_hat||^2)
  std::int64_t outliers = 0;
  std::int64_t clipped_by_offsets = 0;  // codes pushed out of range by a chosen offset (first pass)
};

PackStats compare_weights(const std::vector<float>& reference, const std::vector<float>& approx);

// `weights` is [rows x cols], row-major. cols must be a multiple of 4; the last block may be ragged.
PackedCimWeights pack_rtn(const std::vector<float>& weights, int rows, int cols, const RtnPackOptions& options,
                          PackStats* stats = nullptr);

}  // namespace oacim
