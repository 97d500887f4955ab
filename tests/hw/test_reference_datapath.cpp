// The scalar reference datapath against closed forms: every code at many BF16 exponents, exact
// integer layers (outliers, offsets, ragged blocks) against a plain dot product, alignment that
// shifts inputs out, and hand-computed adder-tree and accumulator overflow sequences.
#include <gtest/gtest.h>

#include <cmath>

#include "../support/random_layers.hpp"
#include "../support/packed_fixtures.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/bf16.hpp"
#include "oacim/hw/block_arith.hpp"
#include "oacim/hw/reference_datapath.hpp"

namespace oacim::hw {
namespace {

// One row of `cols` columns with the given codes, scale 1, zero 0, no offsets, no outliers.
PackedCimParts plain_parts(int cols, int block) {
  PackedCimParts p;
  p.rows = 1;
  p.cols = cols;
  p.grid.block_size = block;
  const int nb = num_blocks(cols, block);
  p.codes.assign(cols, 0);
  p.offsets.assign(cols, 0);
  p.scales.assign(nb, 1.0f);
  p.zeros.assign(nb, 0.0f);
  p.outlier_col.assign(nb, kNoOutlier);
  p.outlier_value.assign(nb, Bf16());
  return p;
}

TEST(ReferenceDatapath, EveryCodeAtSelectedExponents) {
  // One nonzero input per group: no alignment loss, so y = bf16(q * x) exactly.
  const HwConfig cfg = default_hw_config();
  const int exps[] = {-133, -130, -126, -100, -20, -7, -1, 0, 1, 7, 30, 100, 120};
  const int mants[] = {0x00, 0x01, 0x2A, 0x55, 0x7F};
  for (int q = -8; q <= 7; ++q) {
    PackedCimParts p = plain_parts(4, 4);
    p.codes[0] = static_cast<std::int8_t>(q);
    const LayerWeights lw = prepare_layer_weights(PackedCimWeights(p), cfg);
    for (int e : exps) {
      for (int m : mants) {
        for (float sign : {1.0f, -1.0f}) {
          float v = sign * std::ldexp(1.0f + static_cast<float>(m) / 128.0f, e);
          if (e == -133) v = sign * std::ldexp(static_cast<float>(m + 1), -133);  // subnormal bf16
          v = round_to_bf16(v);
          const float x[4] = {v, 0.0f, 0.0f, 0.0f};
          const HwLayerResult r = reference_forward(lw, cfg, x, 1);
          // The partial sum starts at +0, so a zero product gives +0 whatever its sign.
          const float want = round_to_bf16(0.0f + static_cast<float>(static_cast<double>(q) * v));
          ASSERT_EQ(float_bits(r.y[0]), float_bits(want)) << "q=" << q << " x=" << v;
        }
      }
    }
  }
}

TEST(ReferenceDatapath, AlignmentTruncatesSmallerInputs) {
  // x1 is 2^-k times smaller: only its top 8-k significand bits survive (truncation toward 0).
  const HwConfig cfg = default_hw_config();
  PackedCimParts p = plain_parts(4, 4);
  p.codes[0] = 3;
  p.codes[1] = -5;
  const LayerWeights lw = prepare_layer_weights(PackedCimWeights(p), cfg);
  for (int k = 0; k <= 9; ++k) {
    for (int m1 = 128; m1 < 256; m1 += 7) {
      const float x0 = 1.5f;                                                // m = 192, E = 0
      const float x1 = std::ldexp(static_cast<float>(m1), -7 - k);          // m1, E = -k
      const float x[4] = {x0, x1, 0.0f, 0.0f};
      const HwLayerResult r = reference_forward(lw, cfg, x, 1);
      const double a = 3.0 * 192 + (-5.0) * (m1 >> k);
      const float want = round_to_bf16(static_cast<float>(a * std::ldexp(1.0, -7)));
      ASSERT_EQ(float_bits(r.y[0]), float_bits(want)) << "k=" << k << " m1=" << m1;
      EXPECT_EQ(r.counters.inputs_flushed, k >= 8 ? 1 : 0);
    }
  }
}

TEST(ReferenceDatapath, ExactIntegerLayersEqualTheDotProduct) {
  // Inputs are integers in [0, 255] with one >= 128 in every group, codes/zeros/offsets/outliers
  // integers: every fp32 step is exact, so y must be bf16 of the exact dot product with the
  // dequantized weights, whatever the outlier position, offsets or ragged last block.
  const HwConfig cfg = default_hw_config();
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    test::RandomLayerSpec s;
    s.rows = 5;
    s.cols = seed % 3 == 0 ? 100 : 96;  // 100: ragged last block of 4 columns, K not a multiple of 64
    s.block_size = 32;
    s.outlier_rate = 0.6;
    PackedCimParts parts = test::random_layer(s, seed).parts();
    Rng rng(seed * 77);
    for (auto& v : parts.scales) v = 1.0f;
    for (std::size_t i = 0; i < parts.outlier_value.size(); ++i) {
      if (parts.outlier_col[i] != kNoOutlier) parts.outlier_value[i] = Bf16::from_float(std::round(static_cast<float>(rng.normal() * 40)));
    }
    const PackedCimWeights w(parts);
    const LayerWeights lw = prepare_layer_weights(w, cfg);
    std::vector<float> x(s.cols);
    for (int c = 0; c < s.cols; ++c) x[c] = static_cast<float>(static_cast<int>(rng.uniform() * 128));
    for (int b = 0; b < w.blocks(); ++b) x[b * 32] = 128.0f + static_cast<float>(static_cast<int>(rng.uniform() * 128));
    const HwLayerResult r = reference_forward(lw, cfg, x.data(), 1);
    const auto deq = w.dequantize();
    for (int row = 0; row < s.rows; ++row) {
      double dot = 0;
      for (int c = 0; c < s.cols; ++c) dot += static_cast<double>(deq[row * s.cols + c]) * x[c];
      ASSERT_EQ(float_bits(r.y[row]), float_bits(round_to_bf16(static_cast<float>(dot)))) << "seed " << seed;
    }
    EXPECT_EQ(r.counters.outlier_hits, w.outlier_count());
  }
}

TEST(ReferenceDatapath, OutlierAtFirstAndLastColumnOfABlock) {
  const HwConfig cfg = default_hw_config();
  for (int oc : {0, 3, 28, 31}) {
    PackedCimParts p = plain_parts(64, 32);
    for (int c = 0; c < 64; ++c) p.codes[c] = static_cast<std::int8_t>((c % 15) - 7);
    const int q0 = (oc / 4) * 4;
    for (int c = q0; c < q0 + 4; ++c) p.codes[c] = 0;
    p.outlier_col[0] = static_cast<std::int16_t>(oc);
    p.outlier_value[0] = Bf16::from_float(-96.0f);
    const LayerWeights lw = prepare_layer_weights(PackedCimWeights(p), cfg);
    std::vector<float> x(64);
    for (int c = 0; c < 64; ++c) x[c] = static_cast<float>(128 + c);  // exact, one exponent per block
    const HwLayerResult r = reference_forward(lw, cfg, x.data(), 1);
    double dot = -96.0 * x[oc];
    for (int c = 0; c < 64; ++c) {
      if (c < q0 || c >= q0 + 4) dot += p.codes[c] * static_cast<double>(x[c]);
    }
    EXPECT_EQ(float_bits(r.y[0]), float_bits(round_to_bf16(static_cast<float>(dot)))) << "outlier column " << oc;
    EXPECT_EQ(r.counters.macs, 64 - 4);
  }
}

TEST(ReferenceDatapath, AdderTreeSaturatesOrWraps) {
  // 32 codes of -8 and inputs xt = 1: plane 0 sums to -256, outside an 8-bit tree.
  HwConfig cfg = default_hw_config();
  cfg.tree_bits = 8;
  PackedCimParts p = plain_parts(32, 32);
  for (auto& q : p.codes) q = -8;
  const PackedCimWeights w(p);
  std::vector<float> x(32, std::ldexp(1.0f, -7));  // all equal: xt = 128 after alignment, so use the exponent
  x[0] = 1.0f;                                      // group max 1.0 -> others are 2^-7 -> xt = 1
  for (Overflow mode : {Overflow::Saturate, Overflow::Wrap}) {
    cfg.tree_overflow = mode;
    const LayerWeights lw = prepare_layer_weights(w, cfg);
    const TokenInputs in = prepare_token_inputs(lw, cfg, x.data());
    ASSERT_EQ(in.xt[0], 128);
    ASSERT_EQ(in.xt[1], 1);
    HwCounters c;
    const std::int64_t a = bit_serial_block_sum(lw, cfg, in, 0, 0, c);
    // plane 7: only x0 -> tree -8; plane 0: 31 inputs -> -248 (outside [-128, 127]).
    // saturate: acc = -8 * 2^7 + (-128) = -1152; wrap: -248 mod 256 = 8 -> -1024 + 8 = -1016.
    EXPECT_EQ(a, mode == Overflow::Saturate ? -1152 : -1016);
    EXPECT_EQ(c.tree_overflows, 1);
    EXPECT_EQ(c.acc_overflows, 0);
  }
}

TEST(ReferenceDatapath, AccumulatorSaturatesOnEveryLaterPlane) {
  // 32 codes of 7 and xt = 255 on all inputs: every plane sums 224; the running value passes
  // 2^9 - 1 at plane 6 and stays saturated through plane 0: 7 events, A = 511.
  HwConfig cfg = default_hw_config();
  cfg.acc_bits = 10;
  cfg.tree_bits = 10;
  PackedCimParts p = plain_parts(32, 32);
  for (auto& q : p.codes) q = 7;
  const LayerWeights lw = prepare_layer_weights(PackedCimWeights(p), cfg);
  std::vector<float> x(32, 1.9921875f);  // m = 255
  const TokenInputs in = prepare_token_inputs(lw, cfg, x.data());
  HwCounters c;
  EXPECT_EQ(bit_serial_block_sum(lw, cfg, in, 0, 0, c), 511);
  EXPECT_EQ(c.acc_overflows, 7);
  EXPECT_EQ(c.tree_overflows, 0);
  cfg.acc_bits = 24;
  HwCounters c2;
  EXPECT_EQ(bit_serial_block_sum(lw, cfg, in, 0, 0, c2), 224 * 255);
  EXPECT_EQ(c2.acc_overflows, 0);
}

TEST(ReferenceDatapath, GroupShiftedOutEntirely) {
  // One huge input makes every other input of its group vanish; the other block is untouched.
  const HwConfig cfg = default_hw_config();
  PackedCimParts p = plain_parts(64, 32);
  for (auto& q : p.codes) q = 1;
  const LayerWeights lw = prepare_layer_weights(PackedCimWeights(p), cfg);
  std::vector<float> x(64, 0.001f);
  x[5] = 1000.0f;
  const HwLayerResult r = reference_forward(lw, cfg, x.data(), 1);
  EXPECT_EQ(r.counters.inputs_flushed, 31);
  // block 0: only 1000 (bf16 1000 = 1000 exactly); block 1: 32 * bf16(0.001)
  const float b1 = round_to_bf16(0.001f);
  const double want = 1000.0 + 32.0 * b1;
  EXPECT_EQ(float_bits(r.y[0]), float_bits(round_to_bf16(static_cast<float>(want))));
}

TEST(ReferenceDatapath, NonFiniteInputPoisonsItsRowsOnly) {
  const HwConfig cfg = default_hw_config();
  PackedCimParts p = plain_parts(64, 32);
  for (auto& q : p.codes) q = 1;
  const LayerWeights lw = prepare_layer_weights(PackedCimWeights(p), cfg);
  std::vector<float> x(128, 1.0f);
  x[3] = NAN;  // token 0
  const HwLayerResult r = reference_forward(lw, cfg, x.data(), 2);
  EXPECT_TRUE(std::isnan(r.y[0]));
  EXPECT_EQ(r.y[1], 64.0f);
  EXPECT_EQ(r.counters.nonfinite_inputs, 1);
}

TEST(ReferenceDatapath, CountersFollowTheMapping) {
  HwConfig cfg = default_hw_config();
  test::RandomLayerSpec s;
  s.rows = 130;  // 3 column tiles of 64
  s.cols = 200;  // 7 blocks of 32 (last ragged) -> 4 row tiles of 2 blocks
  const PackedCimWeights w = test::random_layer(s, 5);
  const LayerWeights lw = prepare_layer_weights(w, cfg);
  const auto x = test::random_activations(3, 200, 9);
  const HwLayerResult r = reference_forward(lw, cfg, x.data(), 3);
  EXPECT_EQ(r.counters.tokens, 3);
  EXPECT_EQ(r.counters.macro_activations, 3 * 4 * 3);
  EXPECT_EQ(r.counters.input_bitplanes, 3 * 4 * 3 * 9);
  EXPECT_EQ(r.counters.macs, 3 * (130 * 200 - 4 * w.outlier_count()));
  EXPECT_EQ(r.counters.outlier_hits, 3 * w.outlier_count());
  EXPECT_EQ(r.counters.weight_bits, 130 * 200 * 4);
}

}  // namespace
}  // namespace oacim::hw

namespace oacim::hw {
namespace {

// The worked example of docs/hardware.md, every intermediate value checked.
TEST(ReferenceDatapath, WorkedExampleOfDocsHardwareMd) {
  const PackedCimWeights w = test::worked_example_weights();
  HwConfig cfg = default_hw_config();
  const LayerWeights lw = prepare_layer_weights(w, cfg);
  const float* x = test::kWorkedExampleInputs;

  const TokenInputs in = prepare_token_inputs(lw, cfg, x);
  EXPECT_EQ(in.xt, (std::vector<std::int32_t>{96, -24, 0, 208, 16, -128, 6, 44}));
  EXPECT_EQ(in.block_pow2[0], std::ldexp(1.0f, -6));
  EXPECT_EQ(in.flushed, 1);
  EXPECT_EQ(in.block_s[0], 218);
  EXPECT_EQ(in.quad_s[1], -62);
  EXPECT_EQ(in.block_o[0], -52);
  EXPECT_EQ(in.quad_o[1], -28);
  HwCounters c;
  EXPECT_EQ(bit_serial_block_sum(lw, cfg, in, 0, 0, c), 896);
  EXPECT_EQ(plane_tree_sum(lw, in, 0, 0, 8), -8);
  EXPECT_EQ(plane_tree_sum(lw, in, 0, 0, 4), 2);

  cfg.output_format = NumFormat::Fp32;
  EXPECT_EQ(reference_forward(prepare_layer_weights(w, cfg), cfg, x, 1).y[0], 0.133056640625f);
  cfg.output_format = NumFormat::Bf16;
  EXPECT_EQ(reference_forward(lw, cfg, x, 1).y[0], 0.1328125f);
  // Fake-quant fp32 keeps the flushed input: 0.133697509765625.
  const auto deq = w.dequantize();
  double dot = 0;
  for (int k = 0; k < 8; ++k) dot += static_cast<double>(deq[k]) * x[k];
  EXPECT_EQ(dot, 0.133697509765625);
}

TEST(HwCounters, ValuesRoundTripAndShardsMergeWithTheWeightsOnce) {
  HwCounters a;
  a.tokens = 10;
  a.macs = 1000;
  a.tree_overflows = 2;
  a.weight_ones = 77;
  a.weight_bits = 400;
  EXPECT_EQ(HwCounters::from_values(a.values()), a);
  EXPECT_THROW(HwCounters::from_values({1, 2, 3}), oacim::InvariantError);
  HwCounters b = a;  // the same layers over other tokens, on another rank
  b.tokens = 5;
  b.macs = 500;
  HwCounters idle;   // a rank that ran no token
  HwCounters sum = a;
  sum.merge_shard(b).merge_shard(idle);
  EXPECT_EQ(sum.tokens, 15);
  EXPECT_EQ(sum.macs, 1500);
  EXPECT_EQ(sum.tree_overflows, 4);
  EXPECT_EQ(sum.weight_ones, 77);   // the stored bits are the same bits on every rank
  EXPECT_EQ(sum.weight_bits, 400);
}

}  // namespace
}  // namespace oacim::hw
