#pragma once
// The `systemc` backend's checker (docs/design.md §1: "the SystemC modules, on sampled
// layers/tokens, checked bit-exact against hw"). While a model runs on the hw datapath, each
// sampled Linear hands this sampler the first `tokens` input rows it sees (fp32, [tokens, cols])
// with its packed weights; run() then co-simulates all of them in one SystemC elaboration
// (SystemC elaborates once per process) and compares every output and every counter with the hw
// model on the same rows. No torch.
#include <memory>
#include <string>
#include <vector>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/hw/datapath_observer.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/sim/cosim_check.hpp"

namespace oacim::sim {

struct SampledLayerCheck {
  std::string layer;
  int rows = 0, cols = 0, tokens = 0;
  bool ok = false;                  // the chip accepted the layer (mapping)
  std::string error;                // why not, when !ok
  OutputComparison comparison;      // SystemC vs hw on the sampled rows
  std::int64_t load_cycles = 0, compute_cycles = 0, readback_cycles = 0;
  double simulated_ns = 0.0;
  double wall_seconds = 0.0;
  bool bit_exact() const { return ok && comparison.bit_exact(); }
};

class LayerSampler : public hw::DatapathObserver {
 public:
  // `layers` empty = every layer that records; `tokens` rows per layer (>= 1).
  LayerSampler(hw::HwConfig config, std::vector<std::string> layers, int tokens);

  // True while `layer` is sampled and has fewer than `tokens` rows.
  bool wants(const std::string& layer) const override;
  // Appends up to the missing rows of x [n, cols] for `layer`.
  void record(const std::string& layer, std::shared_ptr<const PackedCimWeights> weights, const float* x, int n) override;
  // Sampled layer names never seen so far (a typo in `layers`, or a layer the run did not reach).
  std::vector<std::string> missing() const;

  // Co-simulates every recorded layer (once per process; throws oacim::Error on a second call).
  std::vector<SampledLayerCheck> run() const;
  const hw::HwConfig& config() const { return config_; }

 private:
  struct Sample {
    std::string layer;
    std::shared_ptr<const PackedCimWeights> weights;
    std::vector<float> x;
    int tokens = 0;
  };
  hw::HwConfig config_;
  std::vector<std::string> layers_;
  int tokens_;
  std::vector<Sample> samples_;
};

}  // namespace oacim::sim
