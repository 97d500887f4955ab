#pragma once
// What "agrees bit for bit" means between the SystemC accelerator and the hw datapath model:
// every output's bit pattern equal and every counter equal; where they differ, how far apart in
// representable values of the output format (ulp). No torch.
#include <cstdint>
#include <vector>

#include "oacim/hw/hw_counters.hpp"
#include "oacim/hw/number_format.hpp"

namespace oacim::sim {

// Distance in representable values of `format` (0 = identical bits; INT64_MAX for NaN vs number).
std::int64_t ulp_distance(float a, float b, hw::NumFormat format);

struct OutputComparison {
  std::int64_t outputs = 0;
  std::int64_t mismatches = 0;  // outputs whose bits differ
  std::int64_t max_ulp = 0;
  bool counters_equal = false;
  bool bit_exact() const { return mismatches == 0 && counters_equal; }
};

OutputComparison compare_outputs(const std::vector<float>& systemc, const hw::HwCounters& systemc_counters,
                                 const std::vector<float>& hw, const hw::HwCounters& hw_counters, hw::NumFormat format);

}  // namespace oacim::sim
