#include "oacim/sim/correction_unit.hpp"

#include "oacim/hw/block_arith.hpp"

namespace oacim::sim {

CorrectionUnit::CorrectionUnit(sc_core::sc_module_name name, const CorrectionUnitParams& params, int cols,
                               sc_core::sc_time period)
    : sc_core::sc_module(name), p_(params), cols_(cols), period_(period) {
  SC_HAS_PROCESS(CorrectionUnit);
  SC_THREAD(run);
}

void CorrectionUnit::run() {
  while (true) {
    const MacroResultPtr r = in.read();
    const MacroJob& job = *r->job;
    const WeightTile& tile = *job.tile;
    const int segs = tile.segments;
    std::vector<std::int64_t> s_sum(segs, 0);
    std::vector<std::int64_t> o_sum(segs, 0);
    for (int s = 0; s < segs; ++s) {
      for (int i = tile.seg_begin[s]; i < tile.seg_end[s]; ++i) {
        s_sum[s] += job.xt[i];
        o_sum[s] += static_cast<std::int64_t>(tile.offsets[i]) * job.xt[i];
      }
    }
    auto v = std::make_shared<BlockValues>();
    v->job = r->job;
    v->v.assign(static_cast<std::size_t>(cols_) * segs, 0.0f);
    for (int j = 0; j < tile.valid_cols; ++j) {
      for (int s = 0; s < segs; ++s) {
        const std::size_t k = static_cast<std::size_t>(j) * segs + s;
        std::int64_t sp = s_sum[s];
        std::int64_t op = o_sum[s];
        const int g = tile.gated_row[k];
        if (g >= 0) {  // per-quad partial sums remove the gated quad
          for (int i = g; i < g + 4; ++i) {
            sp -= job.xt[i];
            op -= static_cast<std::int64_t>(tile.offsets[i]) * job.xt[i];
          }
        }
        v->v[k] = hw::block_value(p_.psum_format, static_cast<float>(r->a[k] - op), static_cast<float>(sp),
                                  tile.zero[k], tile.scale[k], job.seg_pow2[s]);
        ++block_results_;
      }
    }
    wait(p_.latency_cycles * period_);
    busy_cycles_ += p_.latency_cycles;
    out.write(v);
  }
}

}  // namespace oacim::sim
