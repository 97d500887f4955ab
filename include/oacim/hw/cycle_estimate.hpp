#pragma once
// The timing model's compute cycles for one layer call (docs/hardware.md "Latency"), without
// simulating a bit: the controller walks the weight tiles (output tiles outer), waits for the macro
// to drain, rewrites it (`macro.write_cycles`) and issues one job per token to the macro and the
// outlier unit; the macro takes mantissa_bits + 1 cycles per job and releases it after the tree and
// accumulator latencies; the correction unit takes `correction.latency` per job, the outlier unit
// ceil(outliers of the tile / outlier.units), the partial-sum unit `psum.latency` per block
// segment; the queues between them hold the depths below. A job-by-job recurrence over those
// times gives the cycle the last partial sum is done: what SystemC simulates (tests hold them
// equal), in time linear in tiles x tokens.
#include <cstdint>

#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/layer_weights.hpp"

namespace oacim::hw {

// Queue depths between the accelerator's units (the SystemC model builds its FIFOs from these).
struct PipelineQueues {
  static constexpr int kMacroJobs = 2;         // controller -> macro
  static constexpr int kOutlierJobs = 64;      // controller -> outlier unit
  static constexpr int kMacroResults = 4;      // macro -> correction unit
  static constexpr int kBlockValues = 4;       // correction unit -> partial-sum unit
  static constexpr int kOutlierProducts = 64;  // outlier unit -> partial-sum unit
};

struct CycleEstimate {
  std::int64_t cycles = 0;
  bool macro_bound = true;  // no tile's jobs are paced by a unit slower than the macro's planes
};

CycleEstimate estimate_cycles(const LayerWeights& w, const HwConfig& cfg, int tokens);

}  // namespace oacim::hw
