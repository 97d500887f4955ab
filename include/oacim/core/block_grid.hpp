#pragma once
// The grid of one block column, shared by every quantizer (RTN, GPTQ, OA-CIM): per row (or one
// for all rows) a range, the scale and zero that range gives (quant_grid.hpp), then the
// second-level quantization of those scales and zeros over groups of rows (second_level.hpp).
// The returned parameters are the ones the chip uses; the second-level codes and group
// parameters go into PackedCimParts unchanged. No torch.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/core/quant_grid.hpp"
#include "oacim/core/second_level.hpp"

namespace oacim {

struct BlockGridOptions {
  GridSpec grid;
  RangeOptions range;
  SecondLevelSpec qq;
  bool per_row = true;  // false: one range over all rows of the block (upstream without --per_out_dim)

  void validate() const;
};

struct BlockGridFit {
  std::vector<GridParams> params;         // [rows], after the second level
  std::vector<std::uint8_t> scale_codes;  // [rows] when qq.scale_bits > 0
  std::vector<float> scale_qq_scale, scale_qq_zero;  // [groups]
  std::vector<std::uint8_t> zero_codes;   // [rows] when qq.zero_bits > 0
  std::vector<float> zero_qq_scale, zero_qq_zero;    // [groups]
};

// Fits rows x n values at w[r * row_stride + c]. `ranges` (2 per row: xmin, xmax) override the
// data ranges when not null.
BlockGridFit fit_block(const float* w, int rows, int n, std::size_t row_stride, const BlockGridOptions& options,
                       const std::vector<float>* ranges = nullptr);

// Parts of a rows x cols layer with every per-block and per-cell vector sized and zeroed, ready
// for store_block_fit, codes, outliers and offsets.
PackedCimParts empty_parts(int rows, int cols, const GridSpec& grid, const SecondLevelSpec& qq, OffsetSign sign);
// Writes the fit of block `b` into the parts.
void store_block_fit(PackedCimParts& parts, int b, const BlockGridFit& fit);

}  // namespace oacim
