#include "oacim/hw/layer_weights.hpp"

#include "oacim/core/ones_count.hpp"
#include "oacim/hw/hw_counters.hpp"
#include "oacim/hw/number_format.hpp"

namespace oacim::hw {

LayerWeights prepare_layer_weights(const PackedCimWeights& w, const HwConfig& cfg) {
  check_mapping(cfg, w.grid().block_size, w.grid().bits);
  LayerWeights lw;
  lw.rows = w.rows();
  lw.cols = w.cols();
  lw.block_size = w.grid().block_size;
  lw.blocks = w.blocks();
  lw.code_min = w.grid().code_min();
  lw.code_max = w.grid().code_max();
  lw.codes = w.parts().codes;
  lw.offsets = w.parts().offsets;
  const std::size_t rb = static_cast<std::size_t>(lw.rows) * lw.blocks;
  lw.scale_h.resize(rb);
  lw.zero_h.resize(rb);
  lw.outlier_col.assign(rb, -1);
  lw.outlier_w.assign(rb, 0.0f);
  for (int r = 0; r < lw.rows; ++r) {
    for (int b = 0; b < lw.blocks; ++b) {
      const GridParams gp = w.params(r, b);
      lw.scale_h[lw.rb(r, b)] = round_to(cfg.scale_format, gp.scale);
      lw.zero_h[lw.rb(r, b)] = round_to(cfg.zero_format, gp.zero);
      const int oc = w.outlier_column(r, b);
      if (oc != kNoOutlier) {
        lw.outlier_col[lw.rb(r, b)] = oc;
        lw.outlier_w[lw.rb(r, b)] = w.outlier_value(r, b).to_float();
        ++lw.outliers;
      }
    }
  }
  const OnesCount ones = count_ones(w);
  lw.weight_ones = ones.ones;
  lw.weight_bits = ones.stored_bits;
  return lw;
}

TileShape tile_shape(const LayerWeights& w, const HwConfig& cfg) {
  TileShape t{};
  t.blocks_per_tile = cfg.macro_rows / w.block_size;
  t.k_tiles = (w.blocks + t.blocks_per_tile - 1) / t.blocks_per_tile;
  t.n_tiles = (w.rows + cfg.macro_cols - 1) / cfg.macro_cols;
  return t;
}

void add_static_counters(const LayerWeights& w, const HwConfig& cfg, int tokens, HwCounters& c) {
  const TileShape t = tile_shape(w, cfg);
  const std::int64_t T = tokens;
  c.tokens += T;
  c.macs += T * (static_cast<std::int64_t>(w.rows) * w.cols - 4 * w.outliers);
  const std::int64_t activations = T * t.k_tiles * t.n_tiles;
  c.macro_activations += activations;
  c.input_bitplanes += activations * cfg.bitplanes();
  c.outlier_hits += T * w.outliers;
  c.weight_ones = w.weight_ones;
  c.weight_bits = w.weight_bits;
}

}  // namespace oacim::hw
