#include "oacim/hw/hw_counters.hpp"

namespace oacim::hw {

namespace {

// Every counter once, in report order: items(), += and -= all walk this table.
struct Field {
  const char* name;
  std::int64_t HwCounters::*member;
};
constexpr Field kFields[] = {{"tokens", &HwCounters::tokens},
                             {"macs", &HwCounters::macs},
                             {"macro_activations", &HwCounters::macro_activations},
                             {"input_bitplanes", &HwCounters::input_bitplanes},
                             {"tree_overflows", &HwCounters::tree_overflows},
                             {"acc_overflows", &HwCounters::acc_overflows},
                             {"outlier_hits", &HwCounters::outlier_hits},
                             {"inputs_flushed", &HwCounters::inputs_flushed},
                             {"nonfinite_inputs", &HwCounters::nonfinite_inputs},
                             {"weight_ones", &HwCounters::weight_ones},
                             {"weight_bits", &HwCounters::weight_bits}};

}  // namespace

std::vector<std::pair<std::string, std::int64_t>> HwCounters::items() const {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const Field& f : kFields) out.emplace_back(f.name, this->*f.member);
  return out;
}

HwCounters& HwCounters::operator+=(const HwCounters& o) {
  for (const Field& f : kFields) this->*f.member += o.*f.member;
  return *this;
}

HwCounters& HwCounters::operator-=(const HwCounters& o) {
  for (const Field& f : kFields) this->*f.member -= o.*f.member;
  return *this;
}

bool operator==(const HwCounters& a, const HwCounters& b) { return a.items() == b.items(); }

}  // namespace oacim::hw
