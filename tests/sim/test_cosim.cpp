// The SystemC accelerator against the hw model, bit for bit and counter for counter, on random
// layers for every shipped hardware config; the cycle model's bounds; rejected mappings.
#include <gtest/gtest.h>

#include <cstring>

#include "../support/random_layers.hpp"
#include "oacim/core/error.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/reference_datapath.hpp"
#include "oacim/sim/cosim.hpp"

namespace oacim::sim {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

// SystemC elaborates once per process: under ctest every test has its own process; a test run by
// hand after another one in the same process is skipped rather than crashing the kernel.
#define REQUIRE_FRESH_SYSTEMC()                                                              \
  if (cosim_elaborated()) GTEST_SKIP() << "SystemC already elaborated in this process; run " \
                                          "this test alone (ctest does)"

struct Layer {
  PackedCimWeights w;
  std::vector<float> x;
  int tokens;
};

std::vector<Layer> random_layers(const hw::HwConfig& cfg, int n, std::uint64_t seed0, bool extreme) {
  std::vector<Layer> out;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t seed = seed0 + static_cast<std::uint64_t>(i);
    Rng rng(seed);
    test::RandomLayerSpec s;
    s.block_size = rng.uniform() < 0.6 ? 32 : 16;
    if (cfg.align_group != 0 && cfg.align_group % s.block_size != 0) s.block_size = 32;
    s.rows = 1 + static_cast<int>(rng.uniform() * 150);
    s.cols = 4 * (1 + static_cast<int>(rng.uniform() * 60));
    s.kind = rng.uniform() < 0.8 ? CodeKind::Signed : CodeKind::Unsigned;
    s.outlier_rate = rng.uniform();
    s.extreme_codes = extreme && rng.uniform() < 0.5;
    const int tokens = 1 + static_cast<int>(rng.uniform() * 6);
    // Narrower codes too: the macro then drives fewer cell-bit slices (sign-extended or zero top bits).
    const double width = rng.uniform();
    s.bits = width < 0.6 ? 4 : width < 0.8 ? 3 : 2;
    out.push_back({test::random_layer(s, seed), test::random_activations(tokens, s.cols, seed * 31 + 7), tokens});
  }
  return out;
}

// Runs every layer through SystemC in one elaboration and compares with the hw model.
hw::HwCounters expect_agreement(const hw::HwConfig& cfg, const std::vector<Layer>& layers) {
  std::vector<CosimCase> cases;
  for (const Layer& l : layers) cases.push_back({&l.w, l.x, l.tokens});
  const std::vector<CosimResult> results = run_cosim(cfg, cases);
  hw::HwCounters total;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    const CosimResult& r = results[i];
    EXPECT_TRUE(r.ok) << r.error;
    const hw::FastDatapath fast(hw::prepare_layer_weights(l.w, cfg), cfg);
    const hw::HwLayerResult want = fast.forward(l.x.data(), l.tokens, 1);
    EXPECT_EQ(r.counters, want.counters) << cfg.name << " layer " << i;
    EXPECT_EQ(r.y.size(), want.y.size());
    for (std::size_t k = 0; k < want.y.size() && k < r.y.size(); ++k) {
      if (hw::bits_of(r.y[k]) == hw::bits_of(want.y[k])) continue;
      EXPECT_EQ(hw::bits_of(r.y[k]), hw::bits_of(want.y[k]))
          << cfg.name << " layer " << i << " (" << l.w.rows() << "x" << l.w.cols() << ", T=" << l.tokens
          << ") output " << k << ": systemc " << r.y[k] << " hw " << want.y[k];
      break;
    }
    total += r.counters;
  }
  return total;
}

TEST(Cosim, BitExactOnRandomLayersDefaultConfig) {
  REQUIRE_FRESH_SYSTEMC();
  const hw::HwConfig cfg = hw::load_hw_config(kSource + "/configs/hw/oacim-default.yaml");
  expect_agreement(cfg, random_layers(cfg, 150, 100, false));
}

TEST(Cosim, BitExactOnRandomLayersNarrowConfigWithOverflows) {
  REQUIRE_FRESH_SYSTEMC();
  const hw::HwConfig cfg = hw::load_hw_config(kSource + "/configs/hw/oacim-narrow.yaml");
  const hw::HwCounters total = expect_agreement(cfg, random_layers(cfg, 150, 200, true));
  EXPECT_GT(total.tree_overflows, 0);  // the corners the config exists for were exercised
}

TEST(Cosim, BitExactOnRandomLayersBf16PsumConfig) {
  REQUIRE_FRESH_SYSTEMC();
  const hw::HwConfig cfg = hw::load_hw_config(kSource + "/configs/hw/oacim-bf16-psum.yaml");
  expect_agreement(cfg, random_layers(cfg, 150, 300, false));
}

TEST(Cosim, ComputeCyclesFollowTheTileSchedule) {
  REQUIRE_FRESH_SYSTEMC();
  const hw::HwConfig cfg = hw::default_hw_config();
  test::RandomLayerSpec s;
  s.rows = 100;  // 2 column tiles
  s.cols = 200;  // 7 blocks -> 4 row tiles of 2 blocks
  const PackedCimWeights w = test::random_layer(s, 9);
  const int T = 5;
  const auto x = test::random_activations(T, s.cols, 10);
  const auto r = run_cosim(cfg, {{&w, x, T}}).at(0);
  // The macro is the bottleneck: per tile a cell rewrite, then T passes of mantissa_bits + 1 planes.
  const std::int64_t tiles = 2 * 4;
  const std::int64_t floor_cycles = tiles * (cfg.macro_write_cycles + T * cfg.bitplanes());
  EXPECT_GE(r.compute_cycles, floor_cycles);
  EXPECT_LE(r.compute_cycles, floor_cycles + 64);  // pipeline drain of the last jobs
  EXPECT_EQ(r.counters.macro_activations, tiles * T);
  // Loading moves every byte over an 8-byte bus.
  const std::int64_t bytes = 5 * 4 + w.rows() * w.cols() / 4 * 2 + w.rows() * w.blocks() * (2 + 4 + 4) + w.cols() +
                             T * w.cols() * 2;
  EXPECT_GE(r.load_cycles, bytes / cfg.bus_bytes);
  EXPECT_GT(r.simulated_ns, 0.0);
  ASSERT_EQ(r.activity.size(), 6u);
  EXPECT_EQ(r.activity[1].module, "cim_macro");
  EXPECT_EQ(r.activity[1].busy_cycles, tiles * T * cfg.bitplanes());
}

TEST(Cosim, RejectsBlocksWiderThanTheMacro) {
  REQUIRE_FRESH_SYSTEMC();
  hw::HwConfig cfg = hw::default_hw_config();
  cfg.macro_rows = 16;
  test::RandomLayerSpec s;  // block 32 > 16 rows
  const PackedCimWeights w = test::random_layer(s, 1);
  const auto x = test::random_activations(2, s.cols, 2);
  const auto r = run_cosim(cfg, {{&w, x, 2}}).at(0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("macro.rows"), std::string::npos) << r.error;
}

TEST(Cosim, SecondElaborationIsAnError) {
  REQUIRE_FRESH_SYSTEMC();
  const hw::HwConfig cfg = hw::default_hw_config();
  const PackedCimWeights w = test::random_layer({}, 1);
  const auto x = test::random_activations(1, 64, 2);
  run_cosim(cfg, {{&w, x, 1}});
  EXPECT_THROW(run_cosim(cfg, {{&w, x, 1}}), Error);
}

}  // namespace
}  // namespace oacim::sim
