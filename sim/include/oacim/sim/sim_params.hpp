#pragma once
// Parameters of each SystemC module, filled from the same hardware config (HwConfig, YAML) the
// functional model reads, so the two can only differ in structure, never in settings.
#include <systemc>

#include "oacim/hw/hw_config.hpp"

namespace oacim::sim {

struct CimMacroParams {
  int rows = 64;               // inputs per column adder tree
  int cols = 64;               // output columns
  int mantissa_bits = 8;       // bit-planes per pass = mantissa_bits + 1
  int tree_bits = 16;
  hw::Overflow tree_overflow = hw::Overflow::Saturate;
  int acc_bits = 24;
  hw::Overflow acc_overflow = hw::Overflow::Saturate;
  int pipeline_cycles = 2;     // adder-tree + accumulator latency after the last plane
  static CimMacroParams from(const hw::HwConfig& c);
};

struct CorrectionUnitParams {
  hw::NumFormat psum_format = hw::NumFormat::Fp32;
  int latency_cycles = 2;
  static CorrectionUnitParams from(const hw::HwConfig& c);
};

struct OutlierUnitParams {
  hw::NumFormat product_format = hw::NumFormat::Fp32;
  hw::NumFormat psum_format = hw::NumFormat::Fp32;
  int units = 4;               // products per cycle
  static OutlierUnitParams from(const hw::HwConfig& c);
};

struct PsumAccumulatorParams {
  hw::NumFormat psum_format = hw::NumFormat::Fp32;
  hw::NumFormat output_format = hw::NumFormat::Bf16;
  int latency_cycles = 1;      // per block accumulation step
  static PsumAccumulatorParams from(const hw::HwConfig& c);
};

struct ControllerParams {
  hw::HwConfig hw;             // alignment, formats, mapping
  int macro_write_cycles = 64;
  int bus_bytes = 8;
  static ControllerParams from(const hw::HwConfig& c);
};

// One clock period of the config (clock.mhz).
sc_core::sc_time clock_period(const hw::HwConfig& c);

}  // namespace oacim::sim
