#include "oacim/hw/cycle_estimate.hpp"

#include <algorithm>
#include <array>

namespace oacim::hw {

namespace {

// Times of the last 128 jobs (every queue is at most 64 deep), indexed by job number.
class JobTimes {
 public:
  std::int64_t operator[](std::int64_t job) const { return job < 0 ? 0 : t_[static_cast<std::size_t>(job & 127)]; }
  void set(std::int64_t job, std::int64_t t) { t_[static_cast<std::size_t>(job & 127)] = t; }

 private:
  std::array<std::int64_t, 128> t_{};
};

}  // namespace

CycleEstimate estimate_cycles(const LayerWeights& w, const HwConfig& cfg, int tokens) {
  using Q = PipelineQueues;
  const TileShape ts = tile_shape(w, cfg);
  const std::int64_t planes = cfg.bitplanes();
  const std::int64_t pipe = cfg.tree_latency + cfg.acc_latency;
  CycleEstimate est;
  // Per job: macro read / done, controller's writes to both queues, outlier unit read / written,
  // macro result released, correction read / written, partial-sum unit's reads and its end.
  JobTimes macro_read, macro_done, to_macro, to_outlier, outlier_read, outlier_written, released, corr_read,
      corr_written, psum_values, psum_products, psum_done;
  std::int64_t ctrl = 0;  // the controller's clock
  std::int64_t job = 0;
  for (int n = 0; n < ts.n_tiles; ++n) {
    for (int k = 0; k < ts.k_tiles; ++k) {
      const int segments = std::min(ts.blocks_per_tile, w.blocks - k * ts.blocks_per_tile);
      const std::int64_t outliers = w.tile_outliers[static_cast<std::size_t>(n) * ts.k_tiles + k];
      const std::int64_t outlier_cycles = (outliers + cfg.outlier_units - 1) / cfg.outlier_units;
      const std::int64_t psum_cycles = static_cast<std::int64_t>(cfg.psum_latency) * segments;
      est.macro_bound = est.macro_bound && std::max({outlier_cycles, psum_cycles,
                                                     static_cast<std::int64_t>(cfg.correction_latency)}) <= planes;
      ctrl = std::max(ctrl, macro_done[job - 1]) + cfg.macro_write_cycles;  // drain, then rewrite the cells
      for (int t = 0; t < tokens; ++t, ++job) {
        to_macro.set(job, ctrl = std::max(ctrl, macro_read[job - Q::kMacroJobs]));
        to_outlier.set(job, ctrl = std::max(ctrl, outlier_read[job - Q::kOutlierJobs]));
        macro_read.set(job, std::max(to_macro[job], macro_done[job - 1]));
        macro_done.set(job, macro_read[job] + planes);
        released.set(job, std::max({macro_done[job] + pipe, released[job - 1], corr_read[job - Q::kMacroResults]}));
        outlier_read.set(job, std::max(to_outlier[job], outlier_written[job - 1]));
        outlier_written.set(job, std::max(outlier_read[job] + outlier_cycles, psum_products[job - Q::kOutlierProducts]));
        corr_read.set(job, std::max(released[job], corr_written[job - 1]));
        corr_written.set(job, std::max(corr_read[job] + cfg.correction_latency, psum_values[job - Q::kBlockValues]));
        psum_values.set(job, std::max(corr_written[job], psum_done[job - 1]));
        psum_products.set(job, std::max(psum_values[job], outlier_written[job]));
        psum_done.set(job, psum_products[job] + psum_cycles);
      }
    }
  }
  est.cycles = std::max(ctrl, psum_done[job - 1]);
  return est;
}

}  // namespace oacim::hw
