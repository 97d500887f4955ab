#pragma once
// The CIM macro: rows x cols 4-bit cells. Each cycle one input bit-plane is broadcast on the rows
// (sign plane first); every column's adder tree sums code x bit over each block segment of its
// rows (gated outlier-quad cells excluded), clipped to adder_tree.bits; a shift-accumulator per
// (column, segment) folds the planes in, clipped to accumulator.bits. Results leave after the
// pipeline latency while the next job's planes already stream in. The simulator evaluates a
// plane word-wide: the cells are held as bit-slices (one 64-row word per column and code bit), so
// a column segment's tree sum is sum_k +-2^k popcount(slice_k & segment cells & inputs). A job's
// planes run back to back and the thread then waits their cycles at once (temporal decoupling:
// nothing outside the macro sees a plane's partial state, so the cycles are the same).
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include <systemc>

#include "oacim/hw/hw_counters.hpp"
#include "oacim/sim/activity.hpp"
#include "oacim/sim/packets.hpp"
#include "oacim/sim/sim_params.hpp"

namespace oacim::sim {

class CimMacro : public sc_core::sc_module {
 public:
  sc_core::sc_fifo_in<JobPtr> in;
  sc_core::sc_fifo_out<MacroResultPtr> out;

  CimMacro(sc_core::sc_module_name name, const CimMacroParams& params, sc_core::sc_time period);

  std::int64_t jobs_done() const { return jobs_done_; }
  const sc_core::sc_event& job_done_event() const { return job_done_; }
  // Events and work since construction: tree/accumulator overflows, MACs, activations, planes,
  // input ones, cell activations, tree additions and accumulator steps.
  const hw::HwCounters& counters() const { return counters_; }
  ModuleActivity activity() const;

 private:
  void compute();   // SC_THREAD: bit-serial passes
  void pipeline();  // SC_THREAD: releases results after the pipeline latency

  // The tile's cell bit-slices masked by each segment's ungated rows, rebuilt when a job brings
  // another tile (held, so its address cannot be reused by a later tile).
  struct TileSlices {
    std::shared_ptr<const WeightTile> tile;
    int words = 0;                       // 64-row words per column
    int planes = 0;                      // code bits used (two's complement when `negative`)
    bool negative = false;               // the top used bit weighs -2^(planes-1)
    bool cannot_overflow = false;        // no plane sum or accumulator value of this tile can clip
    std::int64_t tree_adds_per_plane = 0;  // two-input additions of every column's segment trees
    std::int64_t macs_per_job = 0;       // ungated cells of every column segment
    std::vector<std::uint64_t> masked;   // [planes][segments][words][cols] slice & segment's ungated rows
  };
  void slice(const std::shared_ptr<const WeightTile>& tile);

  CimMacroParams p_;
  TileSlices slices_;
  std::vector<std::int64_t> tree_inputs_;  // [bit-planes][segments * cols] tree inputs of a job's planes
  std::vector<std::int64_t> acc_;          // [segments * cols] the shift-accumulators
  sc_core::sc_time period_;
  std::deque<std::pair<sc_core::sc_time, MacroResultPtr>> in_flight_;
  sc_core::sc_event pushed_;
  sc_core::sc_event job_done_;
  std::int64_t jobs_done_ = 0;
  std::int64_t busy_cycles_ = 0;
  hw::HwCounters counters_;
};

}  // namespace oacim::sim
