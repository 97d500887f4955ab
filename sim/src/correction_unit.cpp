#include "oacim/sim/correction_unit.hpp"

#include "oacim/hw/block_arith.hpp"

namespace oacim::sim {

CorrectionUnit::CorrectionUnit(sc_core::sc_module_name name, const CorrectionUnitParams& params, int cols,
                               sc_core::sc_time period)
    : sc_core::sc_module(name), p_(params), cols_(cols), period_(period) {
  SC_HAS_PROCESS(CorrectionUnit);
  SC_THREAD(run);
}

template <hw::NumFormat P>
void CorrectionUnit::block_values(const WeightTile& tile, std::size_t n, float* out) const {
  for (std::size_t k = 0; k < n; ++k) {
    out[k] = hw::block_value<P>(a_minus_o_[k], s_prime_[k], tile.zero[k], tile.scale[k], pow2_[k]);
  }
}

void CorrectionUnit::run() {
  while (true) {
    const MacroResultPtr r = in.read();
    const MacroJob& job = *r->job;
    const WeightTile& tile = *job.tile;
    const std::vector<std::int32_t>& xt = job.inputs->xt;
    const int segs = tile.segments;
    std::vector<std::int64_t>& s_sum = input_sums_;
    std::vector<std::int64_t>& o_sum = offset_sums_;
    s_sum.assign(segs, 0);
    o_sum.assign(segs, 0);
    for (int s = 0; s < segs; ++s) {
      for (int i = tile.seg_begin[s]; i < tile.seg_end[s]; ++i) {
        s_sum[s] += xt[i];
        o_sum[s] += static_cast<std::int64_t>(tile.offsets[i]) * xt[i];
      }
    }
    // Per (column, segment): A - O' and S' (the gated quad's share removed), then the block
    // results in the psum format, one loop per format so that it vectorizes.
    const std::size_t n = static_cast<std::size_t>(tile.valid_cols) * segs;
    a_minus_o_.resize(n);
    s_prime_.resize(n);
    pow2_.resize(n);
    for (int j = 0; j < tile.valid_cols; ++j) {
      for (int s = 0; s < segs; ++s) {
        const std::size_t k = static_cast<std::size_t>(j) * segs + s;
        std::int64_t sp = s_sum[s];
        std::int64_t op = o_sum[s];
        const int g = tile.gated_row[k];
        if (g >= 0) {  // per-quad partial sums remove the gated quad
          for (int i = g; i < g + 4; ++i) {
            sp -= xt[i];
            op -= static_cast<std::int64_t>(tile.offsets[i]) * xt[i];
          }
        }
        a_minus_o_[k] = static_cast<float>(r->a[k] - op);
        s_prime_[k] = static_cast<float>(sp);
        pow2_[k] = job.inputs->seg_pow2[s];
      }
    }
    auto v = std::make_shared<BlockValues>();
    v->job = r->job;
    v->v.assign(static_cast<std::size_t>(cols_) * segs, 0.0f);
    switch (p_.psum_format) {
      case hw::NumFormat::Bf16: block_values<hw::NumFormat::Bf16>(tile, n, v->v.data()); break;
      case hw::NumFormat::Fp16: block_values<hw::NumFormat::Fp16>(tile, n, v->v.data()); break;
      case hw::NumFormat::Fp32: block_values<hw::NumFormat::Fp32>(tile, n, v->v.data()); break;
    }
    block_results_ += static_cast<std::int64_t>(n);
    wait(p_.latency_cycles * period_);
    busy_cycles_ += p_.latency_cycles;
    out.write(v);
  }
}

}  // namespace oacim::sim
