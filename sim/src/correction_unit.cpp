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
void CorrectionUnit::block_values(const WeightTile& tile, std::size_t n, float* values) const {
  for (std::size_t k = 0; k < n; ++k) {
    values[k] = hw::block_value<P>(a_minus_o_[k], s_prime_[k], tile.zero[k], tile.scale[k], pow2_[k]);
  }
}

void CorrectionUnit::run() {
  while (true) {
    const MacroResultPtr r = in.read();
    const MacroJob& job = *r->job;
    const WeightTile& tile = *job.tile;
    const std::vector<std::int32_t>& xt = job.inputs->xt;
    const int segs = tile.segments;
    // Per-quad partial sums of the inputs (S) and offset-weighted inputs (O), then per segment;
    // a column whose quad is gated by an outlier subtracts that quad's share (S', O').
    const int quads = static_cast<int>(xt.size()) / 4;
    quad_s_.resize(quads);
    quad_o_.resize(quads);
    for (int q = 0; q < quads; ++q) {
      std::int64_t sq = 0, oq = 0;
      for (int i = 4 * q; i < 4 * q + 4; ++i) {
        sq += xt[i];
        oq += static_cast<std::int64_t>(tile.offsets[i]) * xt[i];
      }
      quad_s_[q] = sq;
      quad_o_[q] = oq;
    }
    std::vector<std::int64_t>& s_sum = input_sums_;
    std::vector<std::int64_t>& o_sum = offset_sums_;
    s_sum.assign(segs, 0);
    o_sum.assign(segs, 0);
    for (int s = 0; s < segs; ++s) {  // blocks are whole quads
      for (int q = tile.seg_begin[s] / 4; q < tile.seg_end[s] / 4; ++q) {
        s_sum[s] += quad_s_[q];
        o_sum[s] += quad_o_[q];
      }
    }
    const std::size_t n = static_cast<std::size_t>(tile.valid_cols) * segs;
    a_minus_o_.resize(n);
    s_prime_.resize(n);
    pow2_.resize(n);
    // Locals, not members: stores through the member vectors would make every load reread them.
    const std::int64_t* acc = r->a.data();
    const int* gated = tile.gated_row.data();
    const std::int64_t* qs = quad_s_.data();
    const std::int64_t* qo = quad_o_.data();
    const float* seg_pow2 = job.inputs->seg_pow2.data();
    float* amo = a_minus_o_.data();
    float* spr = s_prime_.data();
    float* pw = pow2_.data();
    for (int j = 0; j < tile.valid_cols; ++j) {
      for (int s = 0; s < segs; ++s) {
        const std::size_t k = static_cast<std::size_t>(j) * segs + s;
        const int g = gated[k];
        const std::int64_t sp = s_sum[s] - (g >= 0 ? qs[g / 4] : 0);
        const std::int64_t op = o_sum[s] - (g >= 0 ? qo[g / 4] : 0);
        amo[k] = static_cast<float>(acc[k] - op);
        spr[k] = static_cast<float>(sp);
        pw[k] = seg_pow2[s];
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
