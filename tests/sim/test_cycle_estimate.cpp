// The timing model's cycle count (hw/cycle_estimate.hpp) against the cycles SystemC simulates: equal
// on every layer, where the macro paces the pipeline (the design point) and where a single outlier
// unit does (docs/hardware.md "Latency").
#include <gtest/gtest.h>

#include "../support/backend_cases.hpp"
#include "oacim/hw/cycle_estimate.hpp"
#include "oacim/hw/layer_weights.hpp"
#include "oacim/sim/cosim.hpp"

namespace oacim::sim {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

struct Compared {
  int macro_bound = 0;
  int other = 0;
};

Compared compare_cycles(const hw::HwConfig& cfg, std::vector<test::BackendCase> cases) {
  test::RandomLayerSpec s;  // enough tokens to fill the 64-deep queues behind the outlier unit
  s.rows = 70;
  s.cols = 256;
  s.outlier_rate = 1.0;
  cases.push_back({"70x256 all outliers, 150 tokens", test::random_layer(s, 5), test::random_activations(150, 256, 6), 150});
  std::vector<CosimCase> cc;
  for (const auto& c : cases) cc.push_back({&c.weights, c.x, c.tokens});
  const std::vector<CosimResult> got = run_cosim(cfg, cc);
  Compared n;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(got[i].ok) << cases[i].name;
    const hw::CycleEstimate est =
        hw::estimate_cycles(hw::prepare_layer_weights(cases[i].weights, cfg), cfg, cases[i].tokens);
    EXPECT_EQ(got[i].counters.cycles, est.cycles) << cases[i].name;
    EXPECT_EQ(got[i].compute_cycles, est.cycles) << cfg.name << ", " << cases[i].name;
    ++(est.macro_bound ? n.macro_bound : n.other);
  }
  return n;
}

TEST(CycleEstimate, EqualsTheSimulatedCyclesWhereTheMacroPacesThePipeline) {
  if (cosim_elaborated()) GTEST_SKIP() << "SystemC already elaborated in this process; run this test alone (ctest does)";
  const auto configs = test::backend_configs(kSource);
  const hw::HwConfig cfg = configs.front().cfg;
  const Compared n = compare_cycles(cfg, test::backend_cases(cfg, 20, 91));
  EXPECT_GT(n.macro_bound, 20);
}

TEST(CycleEstimate, EqualsTheSimulatedCyclesWhereTheOutlierUnitPaces) {
  if (cosim_elaborated()) GTEST_SKIP() << "SystemC already elaborated in this process; run this test alone (ctest does)";
  hw::HwConfig cfg = test::backend_configs(kSource).front().cfg;
  cfg.outlier_units = 1;  // tiles with more outliers than planes: the outlier unit sets the pace
  cfg.correction_latency = 3;
  cfg.psum_latency = 2;
  const Compared n = compare_cycles(cfg, test::backend_cases(cfg, 20, 92));
  EXPECT_GT(n.other, 5);
}

TEST(CycleEstimate, EqualsTheSimulatedCyclesWhereCorrectionAndPartialSumsPace) {
  if (cosim_elaborated()) GTEST_SKIP() << "SystemC already elaborated in this process; run this test alone (ctest does)";
  hw::HwConfig cfg = test::backend_configs(kSource).front().cfg;
  cfg.correction_latency = 12;  // above the 9 planes
  cfg.psum_latency = 5;         // 10 cycles for a two-block tile
  cfg.tree_latency = 6;
  cfg.macro_write_cycles = 0;
  const Compared n = compare_cycles(cfg, test::backend_cases(cfg, 20, 93));
  EXPECT_GT(n.other, 20);
}

}  // namespace
}  // namespace oacim::sim
