#include "oacim/hw/hw_counters.hpp"

#include <algorithm>
#include <string>

#include "oacim/core/error.hpp"

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
                             {"input_ones", &HwCounters::input_ones},
                             {"cell_activations", &HwCounters::cell_activations},
                             {"tree_adds", &HwCounters::tree_adds},
                             {"acc_steps", &HwCounters::acc_steps},
                             {"block_results", &HwCounters::block_results},
                             {"psum_adds", &HwCounters::psum_adds},
                             {"inputs_aligned", &HwCounters::inputs_aligned},
                             {"tile_loads", &HwCounters::tile_loads},
                             {"cell_bits_written", &HwCounters::cell_bits_written},
                             {"cell_ones_written", &HwCounters::cell_ones_written},
                             {"cycles", &HwCounters::cycles},
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

std::vector<std::int64_t> HwCounters::values() const {
  std::vector<std::int64_t> out;
  for (const Field& f : kFields) out.push_back(this->*f.member);
  return out;
}

HwCounters HwCounters::from_values(const std::vector<std::int64_t>& values) {
  constexpr std::size_t n = sizeof kFields / sizeof kFields[0];
  if (values.size() != n) {
    throw InvariantError("HwCounters: " + std::to_string(values.size()) + " values, expected " + std::to_string(n));
  }
  HwCounters c;
  for (std::size_t i = 0; i < n; ++i) c.*kFields[i].member = values[i];
  return c;
}

HwCounters& HwCounters::merge_shard(const HwCounters& o) {
  const std::int64_t ones = std::max(weight_ones, o.weight_ones), bits = std::max(weight_bits, o.weight_bits);
  *this += o;
  weight_ones = ones;
  weight_bits = bits;
  return *this;
}

bool operator==(const HwCounters& a, const HwCounters& b) { return a.items() == b.items(); }

}  // namespace oacim::hw
