#include "oacim/hw/energy_json.hpp"

#include "oacim/hw/energy.hpp"

namespace oacim::hw {

nlohmann::json energy_json(const HwCounters& counters, const EnergyPrices& prices, std::int64_t model_tokens) {
  const EnergyBreakdown b = energy_of(counters, prices, model_tokens);
  nlohmann::json events = nlohmann::json::array();
  for (std::size_t i = 0; i < b.events.size(); ++i) {
    const EventEnergy& e = b.events[i];
    const auto& table = energy_events()[i];
    events.push_back({{"event", e.name},
                      {"count", e.count},
                      {"pj_per_event", e.pj_per_event ? nlohmann::json(*e.pj_per_event) : nlohmann::json()},
                      {"pj", e.pj},
                      {"unit", table.per}});
  }
  return {{"model_tokens", model_tokens},
          {"total_pj", b.total_pj},
          {"pj_per_token", b.pj_per_token()},
          {"complete", b.complete()},
          {"not_configured", b.not_configured},
          {"tops_per_watt", b.tops_per_watt()},
          {"events", events}};
}

nlohmann::json latency_json(const HwCounters& c, double clock_mhz, std::int64_t model_tokens) {
  const double seconds = static_cast<double>(c.cycles) / (clock_mhz * 1e6);
  const double tokens = static_cast<double>(model_tokens);
  return {{"cycles", c.cycles},
          {"cycles_per_token", model_tokens ? static_cast<double>(c.cycles) / tokens : 0.0},
          {"clock_mhz", clock_mhz},
          {"seconds", seconds},
          {"tokens_per_second", seconds > 0 ? tokens / seconds : 0.0}};
}

HwCounters counters_from_json(const nlohmann::json& j) {
  std::vector<std::int64_t> values;
  for (const auto& [name, value] : HwCounters{}.items()) {
    (void)value;
    values.push_back(j.contains(name) ? j.at(name).get<std::int64_t>() : 0);
  }
  return HwCounters::from_values(values);
}

}  // namespace oacim::hw
