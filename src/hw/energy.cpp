#include "oacim/hw/energy.hpp"

namespace oacim::hw {

// The digital defaults are the 45 nm, 0.9 V energies per operation of M. Horowitz, "Computing's
// energy problem (and what we can do about it)", ISSCC 2014; no other number is a default.
const std::vector<EnergyEvent>& energy_events() {
  static const std::vector<EnergyEvent> events = {
      {"input_one", &HwCounters::input_ones, &EnergyPrices::input_one, "pJ per `1` input bit",
       "off", "Driving one input row with a `1` for one bit-plane (counter `input_ones`). Array-specific: no public figure, so no default."},
      {"cell_activation", &HwCounters::cell_activations, &EnergyPrices::cell_activation, "pJ per activation",
       "off", "A stored `1` bit meeting an input `1` (counter `cell_activations`; what per-column offsets reduce). Cell- and process-specific: no public figure, so no default."},
      {"tree_add", &HwCounters::tree_adds, &EnergyPrices::tree_add, "pJ per addition", "0.03",
       "One two-input addition of a column adder tree (counter `tree_adds`). Default: an 8-bit integer add, 0.03 pJ (M. Horowitz, ISSCC 2014, 45 nm)."},
      {"acc_step", &HwCounters::acc_steps, &EnergyPrices::acc_step, "pJ per step", "0.1",
       "One shift-accumulator step (counter `acc_steps`; the shift is wiring). Default: a 32-bit integer add, 0.1 pJ (M. Horowitz, ISSCC 2014, 45 nm; the default accumulator has 24 bits, so an upper figure)."},
      {"block_result", &HwCounters::block_results, &EnergyPrices::block_result, "pJ per block result", "12.9",
       "One correction-unit block result: two float subtractions and three multiplications (counter `block_results`). Default: fp32, 2 x 0.9 + 3 x 3.7 pJ (M. Horowitz, ISSCC 2014, 45 nm)."},
      {"psum_add", &HwCounters::psum_adds, &EnergyPrices::psum_add, "pJ per addition", "0.9",
       "One partial-sum addition (counter `psum_adds`). Default: an fp32 add, 0.9 pJ (M. Horowitz, ISSCC 2014, 45 nm); 0.4 pJ for fp16 partial sums."},
      {"outlier_product", &HwCounters::outlier_hits, &EnergyPrices::outlier_product, "pJ per product", "1.1",
       "One BF16 outlier product (counter `outlier_hits`). Default: a 16-bit float multiply, 1.1 pJ (M. Horowitz, ISSCC 2014, 45 nm)."},
      {"input_align", &HwCounters::inputs_aligned, &EnergyPrices::input_align, "pJ per input", "off",
       "Rounding and aligning one activation (counter `inputs_aligned`): exponent compare and shifter. No public figure, so no default."},
      {"cell_write", &HwCounters::cell_bits_written, &EnergyPrices::cell_write, "pJ per bit written", "off",
       "Writing one bit of a macro cell when a weight tile is loaded (counter `cell_bits_written`). Array-specific: no public figure, so no default."},
      {"static_cycle", &HwCounters::cycles, &EnergyPrices::static_cycle, "pJ per cycle", "off",
       "Leakage and clock power of the accelerator for one cycle (counter `cycles`, the timing model's estimate). Process- and design-specific: no public figure, so no default."},
  };
  return events;
}

EnergyBreakdown energy_of(const HwCounters& counters, const EnergyPrices& prices, std::int64_t model_tokens) {
  EnergyBreakdown out;
  out.tokens = model_tokens;
  out.ops = 2 * counters.macs;
  for (const EnergyEvent& e : energy_events()) {
    EventEnergy ev;
    ev.name = e.name;
    ev.count = counters.*e.counter;
    ev.pj_per_event = prices.*e.price;
    if (ev.pj_per_event) {
      ev.pj = static_cast<double>(ev.count) * *ev.pj_per_event;
      out.total_pj += ev.pj;
    } else if (ev.count != 0) {
      out.not_configured.push_back(ev.name);
    }
    out.events.push_back(std::move(ev));
  }
  return out;
}

}  // namespace oacim::hw
