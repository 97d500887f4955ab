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

// Block values and outlier products into the job's partial sums, blocks in column order.
template <hw::NumFormat P>
void PsumAccumulator::accumulate_job(const BlockValues& bv, const OutlierProducts& op) {
  const MacroJob& job = *bv.job;
  const WeightTile& tile = *job.tile;
  const int segs = tile.segments;
  float* psum = psum_.data() + static_cast<std::size_t>(job.token) * rows_ + static_cast<std::size_t>(tile.n_tile) * cols_;
  float* out = output_->data() + static_cast<std::size_t>(job.token) * rows_ + static_cast<std::size_t>(tile.n_tile) * cols_;
  for (int j = 0; j < tile.valid_cols; ++j) {
    float y = psum[j];
    for (int s = 0; s < segs; ++s) {
      const std::size_t k = static_cast<std::size_t>(j) * segs + s;
      y = hw::accumulate<P>(y, bv.v[k]);
      ++adds_;
      if (tile.outlier_row[k] >= 0) {
        y = hw::accumulate<P>(y, op.p[k]);
        ++adds_;
      }
    }
    psum[j] = y;
    if (tile.last_k_tile) out[j] = hw::round_to(p_.output_format, y);
  }
}

void PsumAccumulator::run() {
  while (true) {
    const BlockValuesPtr bv = values.read();
    const OutlierProductsPtr op = products.read();
    sc_assert(bv->job == op->job);  // both units see the jobs in the controller's order
    const MacroJob& job = *bv->job;
    const WeightTile& tile = *job.tile;
    switch (p_.psum_format) {
      case hw::NumFormat::Bf16: accumulate_job<hw::NumFormat::Bf16>(*bv, *op); break;
      case hw::NumFormat::Fp16: accumulate_job<hw::NumFormat::Fp16>(*bv, *op); break;
      case hw::NumFormat::Fp32: accumulate_job<hw::NumFormat::Fp32>(*bv, *op); break;
    }
    const int segs = tile.segments;
    const std::int64_t cycles = static_cast<std::int64_t>(p_.latency_cycles) * segs;
    wait(static_cast<double>(cycles) * period_);
    busy_cycles_ += cycles;
    ++jobs_done_;
    job_done_.notify(sc_core::SC_ZERO_TIME);
  }
}

}  // namespace oacim::sim
