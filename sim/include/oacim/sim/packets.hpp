#pragma once
// What travels between the SystemC modules: one weight tile (what a macro's cells hold, plus the
// per-(column, block) parameters the correction and outlier units read) and one job per
// (weight tile, token). Passed as shared pointers through sc_fifo, which copies handles only.
#include <cstdint>
#include <memory>
#include <vector>

namespace oacim::sim {

// Weights of one macro tile: macro rows x macro cols cells, column j = output feature
// n_tile * cols + j, row i = input feature k_tile * rows + i. A tile holds `segments` blocks.
// The cells are held as bit-slices, as a bit-plane of the macro's SRAM: word w of slice k of
// column j has bit b set when cell bit k of row 64 w + b is `1`.
struct WeightTile {
  int n_tile = 0;
  int k_tile = 0;
  int valid_cols = 0;                 // output features present in this tile
  int segments = 0;                   // blocks held by this tile
  int words = 0;                      // 64-row words per column
  bool codes_signed = false;          // cells read as two's complement: cell bit 3 weighs -8
  std::vector<int> seg_begin;         // [segments] first row of each block in the tile
  std::vector<int> seg_end;           // [segments]
  std::vector<int> seg_block;         // [segments] block index in the layer
  std::vector<std::uint64_t> cell_bits;  // [4 cell bits][words][cols] 0 in gated quads and empty rows
  std::vector<std::int8_t> offsets;   // [rows] per input column
  std::vector<float> scale;           // [cols * segments] in scale.format
  std::vector<float> zero;            // [cols * segments] in zero.format
  std::vector<int> gated_row;         // [cols * segments] first tile row of the gated quad, or -1
  std::vector<int> outlier_row;       // [cols * segments] tile row of the outlier, or -1
  std::vector<float> outlier_w;       // [cols * segments] BF16 outlier value
  bool last_k_tile = false;           // the psum is final after this tile
};

// One token's aligned inputs for the rows of one input tile (k_tile), as the input buffer holds
// them; every output tile's job on these rows shares it.
struct TileInputs {
  std::vector<std::int32_t> xt;       // [rows] aligned signed mantissas
  std::vector<float> x_in;            // [rows] inputs in input.format (outlier operands)
  std::vector<float> seg_pow2;        // [segments] 2^e of each block's alignment group
  std::vector<std::uint64_t> planes;  // [mantissa_bits + 1][words] bit p of every row's xt (the row drivers)
  std::int64_t ones = 0;              // `1` bits of all planes
};

struct MacroJob {
  std::shared_ptr<const WeightTile> tile;
  std::shared_ptr<const TileInputs> inputs;
  int token = 0;
};

struct MacroResult {
  std::shared_ptr<const MacroJob> job;
  std::vector<std::int64_t> a;        // [cols * segments] shift-accumulator values
};

struct BlockValues {
  std::shared_ptr<const MacroJob> job;
  std::vector<float> v;               // [cols * segments] block results in psum.format
};

struct OutlierProducts {
  std::shared_ptr<const MacroJob> job;
  std::vector<float> p;               // [cols * segments] products in psum.format (0 where none)
};

using JobPtr = std::shared_ptr<const MacroJob>;
using MacroResultPtr = std::shared_ptr<const MacroResult>;
using BlockValuesPtr = std::shared_ptr<const BlockValues>;
using OutlierProductsPtr = std::shared_ptr<const OutlierProducts>;

}  // namespace oacim::sim
