#pragma once
// The accelerator top: a TLM-2.0 target socket in front of the chip's buffers and registers, the
// controller, one CIM macro, the correction unit, the outlier FP unit and the partial-sum
// accumulator, connected by FIFOs:
//
//   TLM ─► buffers ─► Controller ─┬─► CimMacro ─► CorrectionUnit ─┬─► PsumAccumulator ─► output buffer
//                                 └─► OutlierUnit ────────────────┘
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "oacim/hw/hw_config.hpp"
#include "oacim/sim/cim_macro.hpp"
#include "oacim/sim/controller.hpp"
#include "oacim/sim/correction_unit.hpp"
#include "oacim/sim/outlier_unit.hpp"
#include "oacim/sim/psum_accumulator.hpp"

namespace oacim::sim {

class CimAccelerator : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<CimAccelerator> socket;

  CimAccelerator(sc_core::sc_module_name name, const hw::HwConfig& cfg);

  // Counters of every module since construction (the driver takes differences per run).
  hw::HwCounters counters() const;
  std::vector<ModuleActivity> activity() const;
  const std::string& error() const { return controller_.error(); }
  sc_core::sc_time period() const { return period_; }
  std::int64_t bus_bytes() const { return bus_bytes_moved_; }

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  std::uint64_t layer_bytes(std::uint64_t region) const;

  hw::HwConfig cfg_;
  sc_core::sc_time period_;
  ChipMemory mem_;
  sc_core::sc_fifo<JobPtr> macro_jobs_;
  sc_core::sc_fifo<JobPtr> outlier_jobs_;
  sc_core::sc_fifo<MacroResultPtr> macro_results_;
  sc_core::sc_fifo<BlockValuesPtr> block_values_;
  sc_core::sc_fifo<OutlierProductsPtr> outlier_products_;
  CimMacro macro_;
  CorrectionUnit correction_;
  OutlierUnit outlier_;
  PsumAccumulator psum_;
  Controller controller_;
  std::int64_t bus_bytes_moved_ = 0;
  std::int64_t bus_cycles_ = 0;
};

}  // namespace oacim::sim
