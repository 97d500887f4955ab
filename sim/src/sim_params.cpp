#include "oacim/sim/sim_params.hpp"

namespace oacim::sim {

CimMacroParams CimMacroParams::from(const hw::HwConfig& c) {
  CimMacroParams p;
  p.rows = c.macro_rows;
  p.cols = c.macro_cols;
  p.mantissa_bits = c.mantissa_bits;
  p.tree_bits = c.tree_bits;
  p.tree_overflow = c.tree_overflow;
  p.acc_bits = c.acc_bits;
  p.acc_overflow = c.acc_overflow;
  p.pipeline_cycles = c.tree_latency + c.acc_latency;
  return p;
}

CorrectionUnitParams CorrectionUnitParams::from(const hw::HwConfig& c) { return {c.psum_format, c.correction_latency}; }

OutlierUnitParams OutlierUnitParams::from(const hw::HwConfig& c) {
  return {c.outlier_format, c.psum_format, c.outlier_units};
}

PsumAccumulatorParams PsumAccumulatorParams::from(const hw::HwConfig& c) {
  return {c.psum_format, c.output_format, c.psum_latency};
}

ControllerParams ControllerParams::from(const hw::HwConfig& c) { return {c, c.macro_write_cycles, c.bus_bytes}; }

sc_core::sc_time clock_period(const hw::HwConfig& c) { return sc_core::sc_time(1e3 / c.clock_mhz, sc_core::SC_NS); }

}  // namespace oacim::sim
