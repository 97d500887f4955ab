#include "oacim/hw/layer_weights.hpp"

#include <algorithm>

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/quant_grid.hpp"
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
  lw.code_min = w.grid().stored_min();  // what the cells hold (offsets in the cell widen it)
  lw.code_max = w.grid().stored_max();
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
  lw.cell_ones_per_col.assign(static_cast<std::size_t>(lw.cols), 0);
  for (int r = 0; r < lw.rows; ++r) {
    const std::int8_t* q = lw.codes.data() + static_cast<std::size_t>(r) * lw.cols;
    // Gated cells hold code 0 here (their BF16 bits are never activated).
    for (int c = 0; c < lw.cols; ++c) lw.cell_ones_per_col[static_cast<std::size_t>(c)] += CellCode::from_code(q[c]).ones();
    for (int b = 0; b < lw.blocks; ++b) {
      const int cells = block_range(b, lw.cols, lw.block_size).size() - (lw.gated_quad(r, b) >= 0 ? 4 : 0);
      lw.tree_adds_per_plane += std::max(cells - 1, 0);
    }
  }
  const TileShape ts = tile_shape(lw, cfg);
  lw.tile_outliers.assign(static_cast<std::size_t>(ts.n_tiles) * ts.k_tiles, 0);
  for (int r = 0; r < lw.rows; ++r) {
    for (int b = 0; b < lw.blocks; ++b) {
      const std::size_t tile = static_cast<std::size_t>(r / cfg.macro_cols) * ts.k_tiles + b / ts.blocks_per_tile;
      lw.tile_outliers[tile] += lw.outlier_col[lw.rb(r, b)] >= 0;
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
  c.tile_loads += static_cast<std::int64_t>(t.k_tiles) * t.n_tiles;
  c.cell_bits_written += w.weight_bits;
  c.cell_ones_written += w.weight_ones;
  c.weight_ones = w.weight_ones;
  c.weight_bits = w.weight_bits;
}

void add_shape_activity(const LayerWeights& w, const HwConfig& cfg, int tokens, HwCounters& c) {
  const std::int64_t T = tokens;
  const std::int64_t results = T * w.rows * w.blocks;
  c.tree_adds += T * cfg.bitplanes() * w.tree_adds_per_plane;
  c.acc_steps += results * cfg.bitplanes();
  c.block_results += results;
  c.psum_adds += results + T * w.outliers;
  c.inputs_aligned += T * w.cols;
}

namespace {

// sum_c ones(xt_c) and sum_c cells_c * ones(xt_c); cells_c * ones <= 4 R * 12 fits int32. Compiled
// three times (vector popcount, popcnt, portable); the widest the CPU runs is chosen once.
__attribute__((always_inline)) inline void token_activity_body(const std::int32_t* xt, const std::int32_t* cells, int n,
                                                               std::uint32_t mask, std::int64_t* ones,
                                                               std::int64_t* activations) {
  std::int64_t o = 0, a = 0;
  for (int c = 0; c < n; ++c) {
    const std::int32_t k = __builtin_popcount(static_cast<std::uint32_t>(xt[c]) & mask);
    o += k;
    a += cells[c] * k;
  }
  *ones = o;
  *activations = a;
}

using TokenActivityFn = void (*)(const std::int32_t*, const std::int32_t*, int, std::uint32_t, std::int64_t*,
                                 std::int64_t*);

void token_activity_portable(const std::int32_t* xt, const std::int32_t* cells, int n, std::uint32_t mask,
                             std::int64_t* ones, std::int64_t* activations) {
  token_activity_body(xt, cells, n, mask, ones, activations);
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) void token_activity_popcnt(const std::int32_t* xt, const std::int32_t* cells, int n,
                                                             std::uint32_t mask, std::int64_t* ones,
                                                             std::int64_t* activations) {
  token_activity_body(xt, cells, n, mask, ones, activations);
}

__attribute__((target("avx512f,avx512vl,avx512bw,avx512vpopcntdq,popcnt"))) void token_activity_avx512(
    const std::int32_t* xt, const std::int32_t* cells, int n, std::uint32_t mask, std::int64_t* ones,
    std::int64_t* activations) {
  token_activity_body(xt, cells, n, mask, ones, activations);
}
#endif

TokenActivityFn token_activity_for_this_cpu() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw")) {
    return token_activity_avx512;
  }
  if (__builtin_cpu_supports("popcnt")) return token_activity_popcnt;
#endif
  return token_activity_portable;
}

const TokenActivityFn token_activity = token_activity_for_this_cpu();

}  // namespace

void add_token_activity(const LayerWeights& w, const HwConfig& cfg, const std::int32_t* xt, HwCounters& c) {
  std::int64_t ones = 0, activations = 0;
  token_activity(xt, w.cell_ones_per_col.data(), w.cols, (1u << cfg.bitplanes()) - 1u, &ones, &activations);
  c.input_ones += ones * tile_shape(w, cfg).n_tiles;  // every output tile's pass broadcasts the same planes
  c.cell_activations += activations;
}

}  // namespace oacim::hw
