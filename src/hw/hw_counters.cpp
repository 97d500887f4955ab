#include "oacim/hw/hw_counters.hpp"

namespace oacim::hw {

std::vector<std::pair<std::string, std::int64_t>> HwCounters::items() const {
  return {{"tokens", tokens},
          {"macs", macs},
          {"macro_activations", macro_activations},
          {"input_bitplanes", input_bitplanes},
          {"tree_overflows", tree_overflows},
          {"acc_overflows", acc_overflows},
          {"outlier_hits", outlier_hits},
          {"inputs_flushed", inputs_flushed},
          {"nonfinite_inputs", nonfinite_inputs},
          {"weight_ones", weight_ones},
          {"weight_bits", weight_bits}};
}

HwCounters& HwCounters::operator+=(const HwCounters& o) {
  tokens += o.tokens;
  macs += o.macs;
  macro_activations += o.macro_activations;
  input_bitplanes += o.input_bitplanes;
  tree_overflows += o.tree_overflows;
  acc_overflows += o.acc_overflows;
  outlier_hits += o.outlier_hits;
  inputs_flushed += o.inputs_flushed;
  nonfinite_inputs += o.nonfinite_inputs;
  weight_ones += o.weight_ones;
  weight_bits += o.weight_bits;
  return *this;
}

bool operator==(const HwCounters& a, const HwCounters& b) { return a.items() == b.items(); }

}  // namespace oacim::hw
