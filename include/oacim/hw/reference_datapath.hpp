#pragma once
// The scalar reference of the CIM datapath: written to read like the hardware (alignment, one
// bit-plane at a time through the column adder trees, MSB-first shift-accumulation, correction,
// scaling, outlier product, partial sums in column order). Slow; it defines what the fast model
// and the SystemC modules must reproduce bit for bit.
#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/hw_counters.hpp"
#include "oacim/hw/input_align.hpp"
#include "oacim/hw/layer_weights.hpp"

namespace oacim::hw {

// x: [T * C] fp32 activations (rounded to input.format on entry). Returns y [T * R].
HwLayerResult reference_forward(const LayerWeights& w, const HwConfig& cfg, const float* x, int tokens);

// Per-token input side of the datapath, shared with the SystemC correction unit: aligned
// mantissas, per-block S and O sums and per-quad partial sums for the gated-quad removal.
struct TokenInputs {
  std::vector<std::int32_t> xt;        // [C] aligned signed mantissas
  std::vector<float> x_in;             // [C] inputs rounded to input.format (outlier operands)
  std::vector<float> block_pow2;       // [nb] 2^e of the block's alignment group (NaN if not finite)
  std::vector<std::int64_t> block_s;   // [nb] sum of xt over the block
  std::vector<std::int64_t> block_o;   // [nb] sum of o_c * xt over the block
  std::vector<std::int64_t> quad_s;    // [C/4]
  std::vector<std::int64_t> quad_o;    // [C/4]
  std::int64_t flushed = 0;
  std::int64_t nonfinite = 0;
};
TokenInputs prepare_token_inputs(const LayerWeights& w, const HwConfig& cfg, const float* x_row);
// The same into `out`, reusing its storage (hot loops), aligning with `align`; without `sums` the
// block and quad sums are left empty (a caller whose codes fold offsets and zeros needs none).
void prepare_token_inputs(const LayerWeights& w, const HwConfig& cfg, const float* x_row, TokenInputs& out,
                          AlignGroupFn align = align_group, bool sums = true);

// The bit-serial integer sum A of one (row, block) for one token: planes MSB (sign) first, each
// through the adder tree of adder_tree.bits, into the shift-accumulator of accumulator.bits.
// Gated-quad cells do not contribute. Adds overflow events, accumulator steps, cell activations
// and tree additions to the counters.
std::int64_t bit_serial_block_sum(const LayerWeights& w, const HwConfig& cfg, const TokenInputs& in, int r, int b,
                                  HwCounters& counters);

// Sum of one bit-plane of the block's inputs times the codes (before the tree's width is applied).
std::int64_t plane_tree_sum(const LayerWeights& w, const TokenInputs& in, int r, int b, int plane);
// The same, counting the plane's cell activations and tree additions into `counters`.
std::int64_t plane_tree_sum(const LayerWeights& w, const TokenInputs& in, int r, int b, int plane,
                            HwCounters& counters);

}  // namespace oacim::hw
