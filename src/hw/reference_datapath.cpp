#include "oacim/hw/reference_datapath.hpp"

#include <algorithm>
#include <cmath>

#include "oacim/core/cim_cell.hpp"

#include "oacim/core/quant_grid.hpp"
#include "oacim/hw/block_arith.hpp"
#include "oacim/hw/cycle_estimate.hpp"
#include "oacim/hw/fixed_width.hpp"
#include "oacim/hw/input_align.hpp"

namespace oacim::hw {

TokenInputs prepare_token_inputs(const LayerWeights& w, const HwConfig& cfg, const float* x_row) {
  TokenInputs in;
  prepare_token_inputs(w, cfg, x_row, in);
  return in;
}

void prepare_token_inputs(const LayerWeights& w, const HwConfig& cfg, const float* x_row, TokenInputs& in,
                          AlignGroupFn align, bool sums) {
  in.nonfinite = 0;
  const int C = w.cols;
  in.xt.assign(C, 0);
  in.x_in.resize(C);
  for (int c = 0; c < C; ++c) {
    in.x_in[c] = round_to(cfg.input_format, x_row[c]);
    in.nonfinite += !std::isfinite(in.x_in[c]);
  }
  in.block_pow2.assign(w.blocks, 1.0f);
  in.flushed = align_row(x_row, C, w.block_size, cfg, in.xt.data(), in.block_pow2.data(), align);
  if (!sums) {
    in.block_s.clear();
    in.block_o.clear();
    in.quad_s.clear();
    in.quad_o.clear();
    return;
  }
  in.block_s.assign(w.blocks, 0);
  in.block_o.assign(w.blocks, 0);
  in.quad_s.assign(C / 4, 0);
  in.quad_o.assign(C / 4, 0);
  for (int b = 0; b < w.blocks; ++b) {
    const BlockRange br = block_range(b, C, w.block_size);
    std::int64_t bs = 0;
    std::int64_t bo = 0;
    for (int q = br.begin; q < br.end; q += 4) {
      std::int64_t qs = 0;
      std::int64_t qo = 0;
      for (int c = q; c < q + 4; ++c) {
        qs += in.xt[c];
        qo += static_cast<std::int64_t>(w.offsets[c]) * in.xt[c];
      }
      in.quad_s[q / 4] = qs;
      in.quad_o[q / 4] = qo;
      bs += qs;
      bo += qo;
    }
    in.block_s[b] = bs;
    in.block_o[b] = bo;
  }
}

std::int64_t plane_tree_sum(const LayerWeights& w, const TokenInputs& in, int r, int b, int plane) {
  HwCounters unused;
  return plane_tree_sum(w, in, r, b, plane, unused);
}

std::int64_t plane_tree_sum(const LayerWeights& w, const TokenInputs& in, int r, int b, int plane,
                            HwCounters& counters) {
  const BlockRange br = block_range(b, w.cols, w.block_size);
  const int gated = w.gated_quad(r, b);
  const std::int8_t* q = w.codes.data() + static_cast<std::size_t>(r) * w.cols;
  std::int64_t sum = 0;
  int cells = 0;
  for (int c = br.begin; c < br.end; ++c) {
    if (c / 4 == gated) continue;  // the outlier quad's cells are gated off for this row
    const int bit = input_bit(in.xt[c], plane);
    sum += q[c] * bit;
    counters.cell_activations += bit * CellCode::from_code(q[c]).ones();  // the stored nibble's `1` bits
    ++cells;
  }
  counters.tree_adds += std::max(cells - 1, 0);
  return sum;
}

std::int64_t bit_serial_block_sum(const LayerWeights& w, const HwConfig& cfg, const TokenInputs& in, int r, int b,
                                  HwCounters& counters) {
  const FixedWidth tree{cfg.tree_bits, cfg.tree_overflow};
  const FixedWidth acc_reg{cfg.acc_bits, cfg.acc_overflow};
  std::int64_t acc = 0;
  for (int plane = cfg.mantissa_bits; plane >= 0; --plane) {
    bool of = false;
    const std::int64_t t = tree.apply(plane_tree_sum(w, in, r, b, plane, counters), of);
    counters.tree_overflows += of;
    acc = shift_accumulate(acc_reg, acc, t, plane == cfg.mantissa_bits, of);
    counters.acc_overflows += of;
    ++counters.acc_steps;
  }
  return acc;
}

HwLayerResult reference_forward(const LayerWeights& w, const HwConfig& cfg, const float* x, int tokens) {
  HwLayerResult res;
  res.y.assign(static_cast<std::size_t>(tokens) * w.rows, 0.0f);
  add_static_counters(w, cfg, tokens, res.counters);
  res.counters.cycles += estimate_cycles(w, cfg, tokens).cycles;
  const NumFormat pf = cfg.psum_format;
  const std::int64_t output_tiles = tile_shape(w, cfg).n_tiles;
  for (int t = 0; t < tokens; ++t) {
    const TokenInputs in = prepare_token_inputs(w, cfg, x + static_cast<std::size_t>(t) * w.cols);
    res.counters.inputs_flushed += in.flushed;
    res.counters.nonfinite_inputs += in.nonfinite;
    res.counters.inputs_aligned += w.cols;
    for (int c = 0; c < w.cols; ++c) {
      for (int plane = 0; plane < cfg.bitplanes(); ++plane) {
        res.counters.input_ones += input_bit(in.xt[c], plane) * output_tiles;  // once per output tile's pass
      }
    }
    for (int r = 0; r < w.rows; ++r) {
      float y = 0.0f;
      for (int b = 0; b < w.blocks; ++b) {
        const std::int64_t a = bit_serial_block_sum(w, cfg, in, r, b, res.counters);
        const int gq = w.gated_quad(r, b);
        const std::int64_t s_prime = in.block_s[b] - (gq >= 0 ? in.quad_s[gq] : 0);
        const std::int64_t o_prime = in.block_o[b] - (gq >= 0 ? in.quad_o[gq] : 0);
        const std::size_t i = w.rb(r, b);
        const float v = block_value(pf, static_cast<float>(a - o_prime), static_cast<float>(s_prime), w.zero_h[i],
                                    w.scale_h[i], in.block_pow2[b]);
        y = accumulate(pf, y, v);
        ++res.counters.block_results;
        ++res.counters.psum_adds;
        if (gq >= 0) {
          y = accumulate(pf, y, outlier_product(pf, cfg.outlier_format, w.outlier_w[i], in.x_in[w.outlier_col[i]]));
          ++res.counters.psum_adds;
        }
      }
      res.y[static_cast<std::size_t>(t) * w.rows + r] = round_to(cfg.output_format, y);
    }
  }
  return res;
}

}  // namespace oacim::hw
