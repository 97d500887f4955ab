#pragma once
// One interface for every implementation of the CIM datapath (the scalar reference, the fast model
// with each of its kernels, the SystemC accelerator in sim/), so that one harness can run them all
// against the reference on the same cases (tests/hw/test_backend_ops.cpp, in the manner of
// llama.cpp's test-backend-ops). Adding a backend or a kernel is one registration line. No torch.
#include <memory>
#include <string>
#include <vector>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/hw_counters.hpp"

namespace oacim::hw {

// One layer and its activations: y = layer(x) for `tokens` rows of x ([tokens * cols] fp32).
struct DatapathCase {
  const PackedCimWeights* weights = nullptr;
  std::vector<float> x;
  int tokens = 0;
};

class DatapathBackend {
 public:
  virtual ~DatapathBackend() = default;
  virtual std::string name() const = 0;
  // Runs every case with `cfg`: values [tokens * rows] and counters per case. All cases go in one
  // call because some backends set up once per process (SystemC elaborates once).
  virtual std::vector<HwLayerResult> run(const HwConfig& cfg, const std::vector<DatapathCase>& cases) const = 0;
};

// The hw layer's backends this CPU can run: "reference", then "fast/<kernel>" for each kernel.
std::vector<std::unique_ptr<DatapathBackend>> hw_backends();

}  // namespace oacim::hw
