#pragma once
// The CIM macro: rows x cols 4-bit cells. Each cycle one input bit-plane is broadcast on the rows
// (sign plane first); every column's adder tree sums code x bit over each block segment of its
// rows (gated outlier-quad cells excluded), clipped to adder_tree.bits; a shift-accumulator per
// (column, segment) folds the planes in, clipped to accumulator.bits. Results leave after the
// pipeline latency while the next job's planes already stream in.
#include <deque>
#include <utility>

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
  // Events and work since construction: tree/accumulator overflows, MACs, activations, planes.
  const hw::HwCounters& counters() const { return counters_; }
  ModuleActivity activity() const;

 private:
  void compute();   // SC_THREAD: bit-serial passes
  void pipeline();  // SC_THREAD: releases results after the pipeline latency

  CimMacroParams p_;
  sc_core::sc_time period_;
  std::deque<std::pair<sc_core::sc_time, MacroResultPtr>> in_flight_;
  sc_core::sc_event pushed_;
  sc_core::sc_event job_done_;
  std::int64_t jobs_done_ = 0;
  std::int64_t busy_cycles_ = 0;
  hw::HwCounters counters_;
};

}  // namespace oacim::sim
