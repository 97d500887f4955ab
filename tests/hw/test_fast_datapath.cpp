// The fast datapath against the scalar reference, bit for bit and counter for counter, on
// thousands of random layers across every shipped hardware config and the format variants.
#include <gtest/gtest.h>

#include <cstring>

#include "../support/random_layers.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/reference_datapath.hpp"

namespace oacim::hw {
namespace {

const std::string kSource = OACIM_SOURCE_DIR;

// Compares fast and reference on `layers` random layers; returns how many used the bit-plane path.
int compare_random_layers(const HwConfig& cfg, int layers, std::uint64_t seed0, bool extreme = false) {
  int plane_path = 0;
  for (int i = 0; i < layers; ++i) {
    const std::uint64_t seed = seed0 + static_cast<std::uint64_t>(i);
    Rng rng(seed);
    test::RandomLayerSpec s;
    s.block_size = rng.uniform() < 0.7 ? 32 : (rng.uniform() < 0.5 ? 16 : 64);
    if (s.block_size > cfg.macro_rows) s.block_size = 32;
    if (cfg.align_group != 0 && cfg.align_group % s.block_size != 0) s.block_size = 32;
    s.rows = 1 + static_cast<int>(rng.uniform() * 40);
    s.cols = 4 * (1 + static_cast<int>(rng.uniform() * 40));
    s.kind = rng.uniform() < 0.8 ? CodeKind::Signed : CodeKind::Unsigned;
    s.outlier_rate = rng.uniform();
    s.max_offset = rng.uniform() < 0.8 ? 1 : 15;
    s.extreme_codes = extreme || rng.uniform() < 0.1;
    const int tokens = 1 + static_cast<int>(rng.uniform() * 13);
    const PackedCimWeights w = test::random_layer(s, seed);
    const auto x = test::random_activations(tokens, s.cols, seed ^ 0x9E3779B97F4A7C15ull);
    LayerWeights lw = prepare_layer_weights(w, cfg);
    const HwLayerResult ref = reference_forward(lw, cfg, x.data(), tokens);
    const FastDatapath fast(std::move(lw), cfg);
    EXPECT_TRUE(fast.exact_in_fp32());
    EXPECT_TRUE(fast.weights().codes.empty()) << "the exact path keeps a second copy of the codes";
    plane_path += !fast.single_pass();
    const HwLayerResult got = fast.forward(x.data(), tokens, 1 + static_cast<int>(i % 2));
    EXPECT_EQ(got.counters, ref.counters) << "layer " << i;
    if (std::memcmp(got.y.data(), ref.y.data(), ref.y.size() * sizeof(float)) != 0) {
      for (std::size_t k = 0; k < ref.y.size(); ++k) {
        if (bits_of(got.y[k]) != bits_of(ref.y[k])) {
          ADD_FAILURE() << cfg.name << " layer " << i << " (" << s.rows << "x" << s.cols << ", T=" << tokens
                        << ", block " << s.block_size << ") output " << k << ": fast " << got.y[k] << " reference "
                        << ref.y[k];
          return plane_path;
        }
      }
    }
  }
  return plane_path;
}

TEST(FastDatapath, AgreesWithReferenceOnDefaultConfig) {
  compare_random_layers(load_hw_config(kSource + "/configs/hw/oacim-default.yaml"), 600, 1000);
}

TEST(FastDatapath, AgreesWithReferenceOnNarrowConfigWithOverflows) {
  const HwConfig cfg = load_hw_config(kSource + "/configs/hw/oacim-narrow.yaml");
  EXPECT_GT(compare_random_layers(cfg, 400, 2000), 0);
}

TEST(FastDatapath, AgreesWithReferenceOnBf16PsumConfig) {
  compare_random_layers(load_hw_config(kSource + "/configs/hw/oacim-bf16-psum.yaml"), 400, 3000);
}

TEST(FastDatapath, AgreesWithReferenceOnFormatVariants) {
  HwConfig c = default_hw_config();
  c.name = "fp16-inputs";
  c.input_format = NumFormat::Fp16;
  c.mantissa_bits = 11;
  c.psum_format = NumFormat::Fp16;
  c.scale_format = NumFormat::Fp16;
  c.zero_format = NumFormat::Bf16;
  c.output_format = NumFormat::Fp32;
  compare_random_layers(c, 200, 4000);
  HwConfig w = default_hw_config();
  w.name = "wrap";
  w.tree_bits = 7;
  w.acc_bits = 12;
  w.tree_overflow = Overflow::Wrap;
  w.acc_overflow = Overflow::Wrap;
  w.input_rounding = InputRounding::NearestEven;
  EXPECT_GT(compare_random_layers(w, 300, 5000, true), 0);
}

TEST(FastDatapath, LargerLayerAcrossThreads) {
  const HwConfig cfg = default_hw_config();
  test::RandomLayerSpec s;
  s.rows = 301;
  s.cols = 1000;
  const PackedCimWeights w = test::random_layer(s, 77);
  const auto x = test::random_activations(19, s.cols, 78);
  LayerWeights lw = prepare_layer_weights(w, cfg);
  const HwLayerResult ref = reference_forward(lw, cfg, x.data(), 19);
  const FastDatapath fast(std::move(lw), cfg);
  for (int threads : {1, 2, 3}) {
    const HwLayerResult got = fast.forward(x.data(), 19, threads);
    EXPECT_EQ(std::memcmp(got.y.data(), ref.y.data(), ref.y.size() * sizeof(float)), 0) << threads;
    EXPECT_EQ(got.counters, ref.counters);
  }
}

TEST(FastDatapath, ZeroTokens) {
  const HwConfig cfg = default_hw_config();
  const FastDatapath fast(prepare_layer_weights(test::random_layer({}, 1), cfg), cfg);
  const HwLayerResult r = fast.forward(nullptr, 0);
  EXPECT_TRUE(r.y.empty());
  EXPECT_EQ(r.counters.tokens, 0);
}

// What bench_hw's "counters overhead" compares against: the same bits and the same other counters,
// the activity counters at 0.
TEST(FastDatapath, ActivityCountersCanBeSwitchedOff) {
  const HwConfig cfg = default_hw_config();
  const PackedCimWeights w = test::random_layer({}, 3);
  FastDatapath plain(prepare_layer_weights(w, cfg), cfg);
  plain.set_activity_counters(false);
  const FastDatapath counted(prepare_layer_weights(w, cfg), cfg);
  const std::vector<float> x = test::random_activations(5, w.cols(), 4);
  const HwLayerResult a = counted.forward(x.data(), 5), b = plain.forward(x.data(), 5);
  EXPECT_EQ(a.y, b.y);
  EXPECT_GT(a.counters.cell_activations, 0);
  HwCounters without = a.counters;
  for (std::int64_t HwCounters::*f : {&HwCounters::input_ones, &HwCounters::cell_activations, &HwCounters::tree_adds, &HwCounters::acc_steps,
                  &HwCounters::block_results, &HwCounters::psum_adds, &HwCounters::inputs_aligned, &HwCounters::cycles}) {
    without.*f = 0;
  }
  EXPECT_EQ(b.counters, without);
}

}  // namespace
}  // namespace oacim::hw

namespace oacim::hw {
namespace {

// Second-level quantized zeros are not integers: the fast model must take the unfolded path
// (zero * S' rounded separately) and still match the reference; integer zeros take the folded one.
TEST(FastDatapath, AgreesWithReferenceOnSecondLevelZeros) {
  const HwConfig cfg = default_hw_config();
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed);
    const int rows = 16 + static_cast<int>(rng.uniform() * 50);
    const int cols = 32 * (1 + static_cast<int>(rng.uniform() * 6));
    std::vector<float> w(static_cast<std::size_t>(rows) * cols);
    for (auto& v : w) v = static_cast<float>(0.02 * rng.student_t(4));
    RtnPackOptions o;
    o.outliers = seed % 2 == 0;
    o.offsets = seed % 3 != 0;
    o.qq.scale_bits = 4;
    o.qq.zero_bits = 4;
    const PackedCimWeights packed = pack_rtn(w, rows, cols, o, nullptr);
    const int tokens = 1 + static_cast<int>(seed % 9);
    const auto x = test::random_activations(tokens, cols, seed + 1000);
    LayerWeights lw = prepare_layer_weights(packed, cfg);
    const HwLayerResult ref = reference_forward(lw, cfg, x.data(), tokens);
    const FastDatapath fast(std::move(lw), cfg);
    EXPECT_FALSE(fast.folds_zeros());
    const HwLayerResult got = fast.forward(x.data(), tokens, 2);
    ASSERT_EQ(std::memcmp(got.y.data(), ref.y.data(), ref.y.size() * sizeof(float)), 0) << "seed " << seed;
    EXPECT_EQ(got.counters, ref.counters);
  }
  const FastDatapath plain(prepare_layer_weights(test::random_layer({}, 3), cfg), cfg);
  EXPECT_TRUE(plain.folds_zeros());
}

}  // namespace
}  // namespace oacim::hw
