#pragma once
// Who may watch the datapath's inputs: a Linear that runs on the chip's datapath hands each
// observer the rows it computes, with their packed weights, before it computes them. The
// `systemc` backend's sampler (sim/layer_sampler.hpp) is one, so the model layer needs no SystemC.
// No torch.
#include <memory>
#include <string>

#include "oacim/core/packed_cim_weights.hpp"

namespace oacim::hw {

class DatapathObserver {
 public:
  virtual ~DatapathObserver() = default;
  // Whether `layer` still wants rows (cheap; called on every forward of every observed Linear).
  virtual bool wants(const std::string& layer) const = 0;
  // x: [n, weights->cols()] fp32, the rows the datapath is about to compute.
  virtual void record(const std::string& layer, std::shared_ptr<const PackedCimWeights> weights, const float* x,
                      int n) = 0;
};

}  // namespace oacim::hw
