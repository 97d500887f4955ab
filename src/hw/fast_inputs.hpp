#pragma once
// The input side of one fast-datapath call, laid out for the tile kernels (every integer held
// exactly in fp32), and the per-(block, panel) outlier corrections the epilogue reads.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/hw_counters.hpp"
#include "oacim/hw/layer_weights.hpp"

namespace oacim::hw::fast {

struct PreparedInputs {
  int tokens = 0;
  int padded_tokens = 0;
  int planes = 1;                  // 1: xt itself; else one 0/1 plane per bit
  bool fold_zero = false;          // the kernel's sums are t = D - zero * S' (see FastDatapath)
  std::vector<float> x;            // [planes][C * padded_tokens]: block b at begin(b) * padded_tokens,
                                   // then token tiles of [block cols][6]
  std::vector<std::int16_t> x16;   // the same places, each tile in the pair layout (pair_index)
  std::vector<float> x_in;         // [C][T] (column-major: the outlier scatter reads along tokens)
  std::vector<float> pow2, s, o;   // [T][nb]
  std::vector<float> qs, qo;       // [C/4][T]
  HwCounters counters;
};

// Outlier corrections of one (block, panel) for every token, [padded_tokens][32] each: scattered
// for the rows with an outlier before the tile loop; other rows hold stale values that the
// epilogue masks off, so it runs without gathers, branches or store-to-load forwarding stalls.
struct TileCorrections {
  std::vector<float> s;  // S of the gated quad
  std::vector<float> o;  // O of the gated quad (bit-plane path only; folded into the codes otherwise)
  std::vector<float> x;  // the outlier's input
  const float* s_at(int t) const { return s.data() + static_cast<std::size_t>(t) * FastDatapath::kPanelRows; }
  const float* o_at(int t) const { return o.data() + static_cast<std::size_t>(t) * FastDatapath::kPanelRows; }
  const float* x_at(int t) const { return x.data() + static_cast<std::size_t>(t) * FastDatapath::kPanelRows; }
};

// Aligns the tokens of `x` (one TokenInputs per token, in parallel) into `in`; int16_pairs fills
// x16 for the VNNI kernel instead of x; `activity` counts input ones and cell activations.
void prepare_inputs(PreparedInputs& in, const LayerWeights& w, const HwConfig& cfg, const float* x, int tokens,
                    bool single_pass, bool fold_zero, bool int16_pairs, bool activity, int threads);

}  // namespace oacim::hw::fast
