#pragma once
// Energy of a datapath run from its exact event counts (docs/hardware.md "Energy"). Every priced
// event is declared once in energy_events(): the HwCounters field it counts, the hardware knob
// `energy.<name>` (pJ per event) and, only where a public figure exists, the knob's default with
// its source. Energy = count x price, in pJ, exactly; an event that happened but has no price is
// listed as not configured, and the total is then a lower bound.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oacim/hw/hw_counters.hpp"

namespace oacim::hw {

// Prices in pJ per event; nullopt = not configured (`off` in YAML).
struct EnergyPrices {
  std::optional<double> input_one, cell_activation, tree_add, acc_step, block_result, psum_add, outlier_product,
      input_align, cell_write, static_cycle;
};

struct EnergyEvent {
  const char* name;                         // knob `energy.<name>` and the report's label
  std::int64_t HwCounters::*counter;        // the events priced
  std::optional<double> EnergyPrices::*price;
  const char* per;                          // "per `1` input bit", ... (unit text)
  const char* default_pj;                   // "off" where no public figure exists
  const char* doc;                          // what the event is, and the default's source
};

// In report order.
const std::vector<EnergyEvent>& energy_events();

struct EventEnergy {
  std::string name;
  std::int64_t count = 0;
  std::optional<double> pj_per_event;
  double pj = 0.0;  // count x price (0 when not configured)
};

struct EnergyBreakdown {
  std::vector<EventEnergy> events;          // energy_events() order
  double total_pj = 0.0;                    // sum of the priced events
  std::vector<std::string> not_configured;  // events with a nonzero count and no price
  std::int64_t tokens = 0;                  // tokens through the model (each runs every layer once)
  std::int64_t ops = 0;                     // 2 x MACs (a multiply-accumulate is two operations)

  bool complete() const { return not_configured.empty(); }
  double pj_per_token() const { return tokens ? total_pj / static_cast<double>(tokens) : 0.0; }
  // Operations per pJ, i.e. TOPS/W (an upper bound while not complete()); 0 without energy.
  double tops_per_watt() const { return total_pj > 0 ? static_cast<double>(ops) / total_pj : 0.0; }
};

// `model_tokens`: tokens that ran through the model; the counters' `tokens` sums every layer's
// tokens, so for one layer they are the same, for a model of L Linears counters.tokens / L.
EnergyBreakdown energy_of(const HwCounters& counters, const EnergyPrices& prices, std::int64_t model_tokens);

}  // namespace oacim::hw
