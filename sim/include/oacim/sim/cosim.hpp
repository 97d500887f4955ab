#pragma once
// Co-simulation entry point: elaborates the SystemC accelerator once, drives it over TLM with
// one or more layers (weights, activations), and returns what it computed, its counters and its
// cycles. SystemC elaborates once per process: run_cosim() may be called only once; put all the
// layers of a run into one call.
#include <string>
#include <vector>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/hw_counters.hpp"
#include "oacim/sim/activity.hpp"

namespace oacim::sim {

struct CosimCase {
  const PackedCimWeights* weights = nullptr;
  std::vector<float> x;  // [tokens * cols] fp32; rounded to input.format before it crosses the bus
  int tokens = 0;
};

struct CosimResult {
  bool ok = false;
  std::string error;                    // why the chip rejected the layer (mapping), when !ok
  std::vector<float> y;                 // [tokens * rows] read back over TLM
  hw::HwCounters counters;              // this layer only
  std::int64_t load_cycles = 0;         // bus cycles to write weights, parameters and activations
  std::int64_t compute_cycles = 0;      // start command to the last partial sum
  std::int64_t readback_cycles = 0;
  double simulated_ns = 0.0;            // (load + compute + readback) x clock period
  double wall_seconds = 0.0;            // host time this layer took to simulate
  std::vector<ModuleActivity> activity; // this layer only
};

// Throws oacim::Error when called a second time in one process.
std::vector<CosimResult> run_cosim(const hw::HwConfig& cfg, const std::vector<CosimCase>& cases);

// Whether this process has already elaborated a SystemC design.
bool cosim_elaborated();

}  // namespace oacim::sim
