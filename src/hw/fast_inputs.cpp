#include "fast_inputs.hpp"

#include "fast_kernels.hpp"
#include "oacim/core/quant_grid.hpp"
#include "oacim/hw/input_align.hpp"
#include "oacim/hw/reference_datapath.hpp"
#include "worker_pool.hpp"

namespace oacim::hw::fast {

void prepare_inputs(PreparedInputs& in, const LayerWeights& w, const HwConfig& cfg, const float* x, int tokens,
                    bool single_pass, bool fold_zero, bool int16_pairs, bool activity, int threads) {
  in.counters = HwCounters{};
  const int C = w.cols;
  const int nb = w.blocks;
  in.tokens = tokens;
  in.padded_tokens = (tokens + kT - 1) / kT * kT;
  in.planes = single_pass ? 1 : cfg.bitplanes();
  in.fold_zero = fold_zero;
  const std::size_t x_size = static_cast<std::size_t>(in.planes) * in.padded_tokens * C;
  // Padding tokens must hold zeros: their sums are computed and then masked off.
  if (int16_pairs) {
    in.x16.assign(x_size, 0);
  } else {
    in.x.assign(x_size, 0.0f);
  }
  in.x_in.resize(static_cast<std::size_t>(tokens) * C);
  in.pow2.resize(static_cast<std::size_t>(tokens) * nb);
  in.s.resize(in.pow2.size());
  in.o.resize(in.pow2.size());
  // Quad sums feed only the gated-quad corrections, which folding makes unnecessary.
  if (!fold_zero) in.qs.resize(static_cast<std::size_t>(tokens) * (C / 4));
  if (!single_pass) in.qo.resize(static_cast<std::size_t>(tokens) * (C / 4));
  std::vector<BlockRange> ranges;
  for (int b = 0; b < nb; ++b) ranges.push_back(block_range(b, C, w.block_size));
  const std::size_t plane_stride = static_cast<std::size_t>(in.padded_tokens) * C;
  std::vector<HwCounters> chunk_counters(static_cast<std::size_t>(std::max(1, threads)));
  parallel_chunks(tokens, threads, [&](int chunk, int begin, int end) {
    HwCounters local;
    thread_local TokenInputs ti;
    for (int t = begin; t < end; ++t) {
      prepare_token_inputs(w, cfg, x + static_cast<std::size_t>(t) * C, ti, align_group_fast, !fold_zero);
      local.inputs_flushed += ti.flushed;
      local.nonfinite_inputs += ti.nonfinite;
      if (activity) add_token_activity(w, cfg, ti.xt.data(), local);
      const std::size_t tile = static_cast<std::size_t>(t / kT);
      const std::size_t lane = static_cast<std::size_t>(t % kT);
      for (int b = 0; b < nb; ++b) {
        const BlockRange& br = ranges[static_cast<std::size_t>(b)];
        const std::size_t tile_begin = static_cast<std::size_t>(br.begin) * in.padded_tokens +
                                       tile * static_cast<std::size_t>(br.size()) * kT;
        const std::int32_t* src = ti.xt.data() + br.begin;
        if (int16_pairs) {
          // |xt| < 2^mantissa_bits <= 2^11 and bits are 0/1: both fit int16.
          std::int16_t* xp = in.x16.data() + tile_begin;
          for (int k = 0; k < br.size(); ++k) {
            const std::size_t at = pair_index(k, static_cast<int>(lane), kT);
            if (single_pass) {
              xp[at] = static_cast<std::int16_t>(src[k]);
            } else {
              for (int pl = 0; pl < in.planes; ++pl) {
                xp[pl * plane_stride + at] = static_cast<std::int16_t>(input_bit(src[k], pl));
              }
            }
          }
        } else if (single_pass) {
          float* xb = in.x.data() + tile_begin + lane;
          for (int k = 0; k < br.size(); ++k) xb[k * kT] = static_cast<float>(src[k]);
        } else {
          float* xb = in.x.data() + tile_begin + lane;
          for (int k = 0; k < br.size(); ++k) {
            for (int pl = 0; pl < in.planes; ++pl) {
              xb[pl * plane_stride + k * kT] = static_cast<float>(input_bit(src[k], pl));
            }
          }
        }
        const std::size_t i = static_cast<std::size_t>(t) * nb + b;
        in.pow2[i] = ti.block_pow2[b];
        in.s[i] = fold_zero ? 0.0f : static_cast<float>(ti.block_s[b]);  // folded: the epilogue reads no S
        in.o[i] = single_pass ? 0.0f : static_cast<float>(ti.block_o[b]);
      }
      for (int c = 0; c < C; ++c) in.x_in[static_cast<std::size_t>(c) * tokens + t] = ti.x_in[c];
      if (!fold_zero) {
        for (int q = 0; q < C / 4; ++q) in.qs[static_cast<std::size_t>(q) * tokens + t] = static_cast<float>(ti.quad_s[q]);
      }
      if (!single_pass) {
        for (int q = 0; q < C / 4; ++q) in.qo[static_cast<std::size_t>(q) * tokens + t] = static_cast<float>(ti.quad_o[q]);
      }
    }
    chunk_counters[static_cast<std::size_t>(chunk)] = local;
  });
  for (const auto& c : chunk_counters) in.counters += c;
}

}  // namespace oacim::hw::fast
