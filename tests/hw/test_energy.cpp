// Energy from the exact event counters: the worked example of docs/hardware.md ("Energy"), counted
// by hand; energy = count x price for every event; the defaults and their public sources.
#include <gtest/gtest.h>

#include <cmath>

#include "../support/packed_fixtures.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/hw/cycle_estimate.hpp"
#include "oacim/hw/energy.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/hw_params.hpp"
#include "oacim/hw/reference_datapath.hpp"

namespace oacim::hw {
namespace {

// Every number below is derived by hand in docs/hardware.md ("Energy").
TEST(Energy, WorkedExampleOfDocsHardwareMd) {
  const PackedCimWeights w = test::worked_example_weights();
  const HwConfig cfg = default_hw_config();
  const HwCounters c = reference_forward(prepare_layer_weights(w, cfg), cfg, test::kWorkedExampleInputs, 1).counters;
  EXPECT_EQ(c.input_ones, 18);         // ones of xt in 9 bits: 2 5 0 3 1 2 2 3
  EXPECT_EQ(c.cell_activations, 12);   // nibble ones 2 1 3 1 times input ones 2 5 0 3
  EXPECT_EQ(c.tree_adds, 27);          // 4 ungated cells: 3 additions per plane, 9 planes
  EXPECT_EQ(c.acc_steps, 9);
  EXPECT_EQ(c.block_results, 1);
  EXPECT_EQ(c.psum_adds, 2);           // the block result and the outlier product
  EXPECT_EQ(c.outlier_hits, 1);
  EXPECT_EQ(c.inputs_aligned, 8);
  EXPECT_EQ(c.tile_loads, 1);
  EXPECT_EQ(c.cell_bits_written, 32);  // two 16-bit words
  EXPECT_EQ(c.cell_ones_written, 13);  // nibbles 0011 1000 0111 0010 (7) and BF16 0x3E20 (6)
  EXPECT_EQ(c.cycles, 78);             // 64 write + 9 planes + 1 + 1 + 2 + 1 drain
  EXPECT_EQ(c.macs, 4);

  const EnergyBreakdown e = energy_of(c, cfg.energy, 1);
  // Defaults: 27 x 0.03 + 9 x 0.1 + 1 x 12.9 + 2 x 0.9 + 1 x 1.1 pJ.
  EXPECT_DOUBLE_EQ(e.total_pj, 27 * 0.03 + 9 * 0.1 + 12.9 + 2 * 0.9 + 1.1);
  EXPECT_NEAR(e.total_pj, 17.51, 1e-12);
  EXPECT_EQ(e.not_configured,
            (std::vector<std::string>{"input_one", "cell_activation", "input_align", "cell_write", "static_cycle"}));
  EXPECT_FALSE(e.complete());
  EXPECT_EQ(e.ops, 8);

  HwConfig priced = cfg;  // a chip team's table: every event priced
  priced.energy.input_one = 0.5;
  priced.energy.cell_activation = 0.25;
  priced.energy.input_align = 2.0;
  priced.energy.cell_write = 1.0;
  priced.energy.static_cycle = 0.125;
  const EnergyBreakdown all = energy_of(c, priced.energy, 1);
  EXPECT_TRUE(all.complete());
  EXPECT_DOUBLE_EQ(all.total_pj, e.total_pj + 18 * 0.5 + 12 * 0.25 + 8 * 2.0 + 32 * 1.0 + 78 * 0.125);
  EXPECT_DOUBLE_EQ(all.pj_per_token(), all.total_pj);
  EXPECT_DOUBLE_EQ(all.tops_per_watt(), 8 / all.total_pj);
}

TEST(Energy, EqualsCountsTimesPricesForEveryEvent) {
  Rng rng(5);
  HwCounters c;
  c.tokens = 7;
  c.macs = 1000;
  EnergyPrices prices;
  for (const EnergyEvent& e : energy_events()) {
    c.*e.counter = static_cast<std::int64_t>(rng.uniform() * 1e9);
    prices.*e.price = rng.uniform() * 10;
  }
  prices.cell_write = std::nullopt;  // one event unpriced: listed, not summed
  const EnergyBreakdown b = energy_of(c, prices, 7);
  ASSERT_EQ(b.events.size(), energy_events().size());
  double total = 0;
  for (std::size_t i = 0; i < b.events.size(); ++i) {
    const EnergyEvent& e = energy_events()[i];
    EXPECT_EQ(b.events[i].count, c.*e.counter) << e.name;
    const double want = (prices.*e.price) ? static_cast<double>(c.*e.counter) * *(prices.*e.price) : 0.0;
    EXPECT_EQ(b.events[i].pj, want) << e.name;
    total += want;
  }
  EXPECT_EQ(b.total_pj, total);
  EXPECT_EQ(b.not_configured, std::vector<std::string>{"cell_write"});
  c.cell_bits_written = 0;  // an event that did not happen needs no price
  EXPECT_TRUE(energy_of(c, prices, 7).complete());
}

// A default is allowed only with its public source; every event is a knob `energy.<name>`.
TEST(Energy, EveryKnobIsDeclaredOnceAndEveryDefaultNamesItsSource) {
  for (const EnergyEvent& e : energy_events()) {
    const HwParam* p = find_hw_param(std::string("energy.") + e.name);
    ASSERT_NE(p, nullptr) << e.name;
    EXPECT_EQ(p->default_text, e.default_pj);
    if (std::string(e.default_pj) != "off") {
      EXPECT_NE(p->doc.find("Horowitz, ISSCC 2014"), std::string::npos) << e.name << ": a default without its source";
    } else {
      EXPECT_NE(p->doc.find("no default"), std::string::npos) << e.name;
    }
  }
  const HwConfig d = default_hw_config();
  EXPECT_EQ(d.energy.tree_add, 0.03);
  EXPECT_FALSE(d.energy.cell_activation.has_value());
}

TEST(Energy, YamlSetsAndRejectsPrices) {
  const HwConfig cfg = parse_hw_config("name: priced\nenergy:\n  cell_activation: 0.02\n  tree_add: off\n", "priced.yaml");
  EXPECT_EQ(cfg.energy.cell_activation, 0.02);
  EXPECT_FALSE(cfg.energy.tree_add.has_value());
  EXPECT_EQ(cfg.energy.acc_step, 0.1);
  try {
    parse_hw_config("energy:\n  cell_activation: -1\n", "bad.yaml");
    FAIL() << "a negative energy was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("energy.cell_activation"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oacim::hw
