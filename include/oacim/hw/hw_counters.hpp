#pragma once
// Event counters of one layer call on the CIM datapath (what a chip team budgets energy and checks
// overflow with). All counts are exact integers; they add up over calls and layers.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace oacim::hw {

struct HwCounters {
  std::int64_t tokens = 0;
  std::int64_t macs = 0;                // code-cell x input multiply-accumulates (gated cells excluded)
  std::int64_t macro_activations = 0;   // bit-serial passes of one macro over one weight tile for one token
  std::int64_t input_bitplanes = 0;     // bit-planes broadcast (macro_activations x (mantissa_bits + 1))
  std::int64_t tree_overflows = 0;      // adder-tree sums outside adder_tree.bits (saturated or wrapped)
  std::int64_t acc_overflows = 0;       // shift-accumulator steps outside accumulator.bits
  std::int64_t outlier_hits = 0;        // BF16 outlier products computed
  std::int64_t inputs_flushed = 0;      // nonzero inputs aligned to a zero mantissa
  std::int64_t nonfinite_inputs = 0;    // Inf/NaN activations (their groups give NaN)
  // Activity (docs/hardware.md "Counters"): the events an energy table prices, exact per call.
  std::int64_t input_ones = 0;          // `1` bits driven on the macro's input rows, over every broadcast plane
  std::int64_t cell_activations = 0;    // stored `1` bits of ungated cells meeting an input `1` (what offsets cut)
  std::int64_t tree_adds = 0;           // two-input additions of the column adder trees (cells - 1 per tree output)
  std::int64_t acc_steps = 0;           // shift-accumulator steps (one per column, block segment and plane)
  std::int64_t block_results = 0;       // correction-unit block results (5 float operations each)
  std::int64_t psum_adds = 0;           // partial-sum additions: one per block result, one per outlier product
  std::int64_t inputs_aligned = 0;      // activations converted and aligned (once per token and input feature)
  std::int64_t tile_loads = 0;          // macro rewrites: every weight tile once per call
  std::int64_t cell_bits_written = 0;   // bits written into the macro's cells by those rewrites
  std::int64_t cell_ones_written = 0;   // `1` bits among them
  std::int64_t cycles = 0;              // compute cycles: the timing model's (hw/cycle_estimate.hpp), SystemC's simulated
  std::int64_t weight_ones = 0;         // `1` bits of the stored weights (per layer, not per call)
  std::int64_t weight_bits = 0;         // bits of the stored weights (per layer, not per call)

  HwCounters& operator+=(const HwCounters& o);  // every field, weight ones/bits too (sums layers)
  HwCounters& operator-=(const HwCounters& o);  // every field (differences of running totals)
  friend bool operator==(const HwCounters& a, const HwCounters& b);
  // Name/value pairs in a fixed order, for JSON and tables.
  std::vector<std::pair<std::string, std::int64_t>> items() const;
  // The values in items() order, and back (InvariantError on a wrong count): messages between ranks.
  std::vector<std::int64_t> values() const;
  static HwCounters from_values(const std::vector<std::int64_t>& values);
  // Adds the counts another process made on the same layers over other tokens: the events add up,
  // the weights' bits are the same bits (kept once; a process that ran no token has none).
  HwCounters& merge_shard(const HwCounters& other);
};

struct HwLayerResult {
  std::vector<float> y;  // [T * R], each value exactly representable in output.format
  HwCounters counters;
};

}  // namespace oacim::hw
