#pragma once
// What the datapath reads of a PackedCimWeights, in the formats the hardware config holds them:
// codes (0 in gated outlier quads), per-(row, block) scale and zero rounded to scale.format and
// zero.format, the gated quad and the BF16 outlier. Built once per (layer, hw config); shared by
// the scalar reference, the fast model and the SystemC modules.
#include <cstdint>
#include <vector>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/hw/hw_config.hpp"

namespace oacim::hw {

struct LayerWeights {
  int rows = 0;        // output features R
  int cols = 0;        // input features C
  int block_size = 0;
  int blocks = 0;
  int code_min = 0;
  int code_max = 0;
  std::vector<std::int8_t> codes;        // [R * C]
  std::vector<std::int8_t> offsets;      // [C]
  std::vector<float> scale_h;            // [R * nb] in scale.format
  std::vector<float> zero_h;             // [R * nb] in zero.format
  std::vector<std::int32_t> outlier_col; // [R * nb] absolute column, or -1
  std::vector<float> outlier_w;          // [R * nb] BF16 value as fp32 (0 when none)
  std::int64_t outliers = 0;
  std::int64_t weight_ones = 0;
  std::int64_t weight_bits = 0;
  std::vector<std::int32_t> cell_ones_per_col;  // [C] `1` bits of the ungated code cells of each input column
  std::int64_t tree_adds_per_plane = 0;         // adder-tree additions of one plane over every (row, block)
  std::vector<std::int32_t> tile_outliers;      // [n_tile * k_tiles + k_tile] outliers of each weight tile

  std::size_t rb(int r, int b) const { return static_cast<std::size_t>(r) * blocks + b; }
  // Quad gated for (r, b), or -1.
  int gated_quad(int r, int b) const {
    const int oc = outlier_col[rb(r, b)];
    return oc < 0 ? -1 : oc / 4;
  }
};

// Throws InvalidArgument when the weights cannot map onto `cfg` (see check_mapping).
LayerWeights prepare_layer_weights(const PackedCimWeights& w, const HwConfig& cfg);

// Counters that follow from the shapes alone (MACs, macro activations, bit-planes, outlier hits,
// tile loads and the cell bits they write; the cycles are the caller's: hw/cycle_estimate.hpp).
struct HwCounters;
void add_static_counters(const LayerWeights& w, const HwConfig& cfg, int tokens, HwCounters& c);
// The per-element work that also follows from the shapes (tree additions, accumulator steps, block
// results, partial-sum additions, aligned inputs); the scalar reference counts these one by one.
void add_shape_activity(const LayerWeights& w, const HwConfig& cfg, int tokens, HwCounters& c);
// Input-line ones and cell activations of one token from its aligned inputs `xt` [C], by columns:
// cell activations = sum_c cell_ones_per_col[c] * ones(xt_c), ones(xt) = the `1` bits of its
// (mantissa_bits + 1)-bit two's complement.
void add_token_activity(const LayerWeights& w, const HwConfig& cfg, const std::int32_t* xt, HwCounters& c);
// Weight tiles of the mapping: blocks per macro pass, K tiles (row tiles) and N tiles (column tiles).
struct TileShape {
  int blocks_per_tile;
  int k_tiles;
  int n_tiles;
};
TileShape tile_shape(const LayerWeights& w, const HwConfig& cfg);

}  // namespace oacim::hw
