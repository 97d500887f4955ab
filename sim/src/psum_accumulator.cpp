#include "oacim/sim/psum_accumulator.hpp"

#include "oacim/hw/block_arith.hpp"

namespace oacim::sim {

PsumAccumulator::PsumAccumulator(sc_core::sc_module_name name, const PsumAccumulatorParams& params, int cols,
                                 sc_core::sc_time period)
    : sc_core::sc_module(name), p_(params), cols_(cols), period_(period) {
  SC_HAS_PROCESS(PsumAccumulator);
  SC_THREAD(run);
}

void PsumAccumulator::begin_layer(int rows, int tokens, std::vector<float>* output) {
  rows_ = rows;
  psum_.assign(static_cast<std::size_t>(rows) * tokens, 0.0f);
  output_ = output;
  output_->assign(psum_.size(), 0.0f);
}

void PsumAccumulator::run() {
  while (true) {
    const BlockValuesPtr bv = values.read();
    const OutlierProductsPtr op = products.read();
    sc_assert(bv->job == op->job);  // both units see the jobs in the controller's order
    const MacroJob& job = *bv->job;
    const WeightTile& tile = *job.tile;
    const int segs = tile.segments;
    for (int j = 0; j < tile.valid_cols; ++j) {
      const std::size_t idx = static_cast<std::size_t>(job.token) * rows_ + tile.n_tile * cols_ + j;
      float y = psum_[idx];
      for (int s = 0; s < segs; ++s) {
        const std::size_t k = static_cast<std::size_t>(j) * segs + s;
        y = hw::accumulate(p_.psum_format, y, bv->v[k]);
        ++adds_;
        if (tile.outlier_row[k] >= 0) {
          y = hw::accumulate(p_.psum_format, y, op->p[k]);
          ++adds_;
        }
      }
      psum_[idx] = y;
      if (tile.last_k_tile) (*output_)[idx] = hw::round_to(p_.output_format, y);
    }
    const std::int64_t cycles = static_cast<std::int64_t>(p_.latency_cycles) * segs;
    wait(static_cast<double>(cycles) * period_);
    busy_cycles_ += cycles;
    ++jobs_done_;
    job_done_.notify(sc_core::SC_ZERO_TIME);
  }
}

}  // namespace oacim::sim
