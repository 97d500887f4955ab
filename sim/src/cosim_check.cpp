#include "oacim/sim/cosim_check.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "oacim/core/fp16.hpp"
#include "oacim/hw/number_format.hpp"

namespace oacim::sim {

std::int64_t ulp_distance(float a, float b, hw::NumFormat f) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  auto ordered = [&](float v) -> std::int64_t {
    std::uint32_t u = hw::bits_of(v);
    if (f == hw::NumFormat::Bf16) u >>= 16;
    if (f == hw::NumFormat::Fp16) u = fp16_bits_from_float(v);
    const std::uint32_t sign = f == hw::NumFormat::Fp32 ? 0x80000000u : 0x8000u;
    const std::int64_t mag = static_cast<std::int64_t>(u & (sign - 1));
    return (u & sign) ? -mag : mag;
  };
  return std::llabs(ordered(a) - ordered(b));
}

OutputComparison compare_outputs(const std::vector<float>& sc, const hw::HwCounters& sc_counters, const std::vector<float>& hw,
                                 const hw::HwCounters& hw_counters, hw::NumFormat format) {
  OutputComparison c;
  c.outputs = static_cast<std::int64_t>(hw.size());
  c.counters_equal = sc_counters == hw_counters;
  if (sc.size() != hw.size()) {
    c.mismatches = static_cast<std::int64_t>(std::max(sc.size(), hw.size()));
    c.max_ulp = INT64_MAX;
    return c;
  }
  for (std::size_t i = 0; i < sc.size(); ++i) {
    if (hw::bits_of(sc[i]) != hw::bits_of(hw[i])) {
      ++c.mismatches;
      c.max_ulp = std::max(c.max_ulp, ulp_distance(sc[i], hw[i], format));
    }
  }
  return c;
}

}  // namespace oacim::sim
