#pragma once
// The energy and latency of a run as JSON (eval results, sweep points, the report): the breakdown
// by event with each price (null = not configured), totals per token, TOPS/W, and the timing
// model's cycles at the configured clock.
#include <nlohmann/json.hpp>

#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/hw_counters.hpp"

namespace oacim::hw {

// `model_tokens` as for energy_of.
nlohmann::json energy_json(const HwCounters& counters, const EnergyPrices& prices, std::int64_t model_tokens);
nlohmann::json latency_json(const HwCounters& counters, double clock_mhz, std::int64_t model_tokens);
// The counters of a counters JSON object (names of HwCounters::items(); missing names stay 0).
HwCounters counters_from_json(const nlohmann::json& j);

}  // namespace oacim::hw
