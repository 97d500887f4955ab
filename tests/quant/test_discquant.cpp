// DiscQuant (docs/algorithms.md D): the two-point grid on every grid the packed format holds, x = y
// reproducing W, final rounding onto the grid, the schedule, the KL, the gradient of the real
// objective on the bundled model against finite differences, and determinism for a seed.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ATen.h>

#include "oacim/core/error.hpp"
#include "oacim/core/incoherence.hpp"
#include "oacim/model/decoder.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quant_linear.hpp"
#include "oacim/quant/discquant.hpp"
#include "oacim/quant/layer_quantizer.hpp"

namespace oacim::quant {
namespace {

const std::string kBin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";

at::Tensor heavy_tailed(int rows, int cols, int seed) {
  at::manual_seed(seed);
  const at::Tensor w = at::randn({rows, cols}) * 0.02;
  return at::where(at::rand({rows, cols}) < 0.01, w * 20.0, w);
}

LayerQuantOptions rtn_options(int bits, CodeKind kind, bool outliers, bool offsets, int qq_bits) {
  LayerQuantOptions o;
  o.method = Method::Rtn;
  o.grid.grid.bits = bits;
  o.grid.grid.kind = kind;
  o.outliers = outliers;
  o.offsets = offsets;
  o.grid.qq.scale_bits = qq_bits;
  o.grid.qq.zero_bits = qq_bits ? 3 : 0;  // a zero is a code: at most the weight bits
  return o;
}

std::vector<std::vector<int>> windows(int n, int len) {
  std::vector<std::vector<int>> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int> t;
    for (int k = 0; k < len; ++k) t.push_back(1 + (i * 37 + k * 11) % 500);
    out.push_back(t);
  }
  return out;
}

}  // namespace

TEST(DiscQuantGrid, DownAndUpEncloseEveryWeightOnEveryGrid) {
  const at::Tensor w = heavy_tailed(48, 96, 3);
  for (int bits : {3, 4}) {
    for (CodeKind kind : {CodeKind::Signed, CodeKind::Unsigned}) {
      for (bool outliers : {false, true}) {
        for (bool offsets : {false, true}) {
          for (int qq : {0, 6}) {
            const LayerQuantOptions o = rtn_options(bits, kind, outliers, offsets, qq);
            const LayerQuantResult r = quantize_layer("l", w, at::Tensor(), o);
            const RoundingGrid g = rounding_grid(*r.packed, w);
            const std::string what = ::testing::PrintToString(std::make_tuple(bits, static_cast<int>(kind), outliers, offsets, qq));
            const float* wp = w.data_ptr<float>();
            const float* d = g.down.data_ptr<float>();
            const float* u = g.up.data_ptr<float>();
            const float* tr = g.trainable.data_ptr<float>();
            const float* y = g.y.data_ptr<float>();
            const int lo = r.packed->grid().code_min(), hi = r.packed->grid().code_max();
            std::int64_t trainable = 0;
            for (std::int64_t i = 0; i < w.numel(); ++i) {
              if (tr[i] == 0.0f) continue;
              ++trainable;
              const auto k = static_cast<std::size_t>(i);
              ASSERT_LE(g.up_code[k] - g.down_code[k], 1) << what;
              ASSERT_GE(g.up_code[k] - g.down_code[k], 0) << what;
              const bool clamped = g.down_code[k] == g.up_code[k] && (g.down_code[k] == lo || g.down_code[k] == hi);
              if (!clamped) {
                const float tol = 1e-6f * std::fabs(wp[i]) + 1e-9f;
                ASSERT_LE(d[i], wp[i] + tol) << what << " at " << i;
                ASSERT_GE(u[i], wp[i] - tol) << what << " at " << i;
              }
              ASSERT_GE(y[i], 0.0f);
              ASSERT_LE(y[i], 1.0f);
            }
            EXPECT_GT(trainable, w.numel() * 9 / 10) << what;
            // x = y reproduces W wherever W lies inside the grid's range.
            const at::Tensor back = interpolate(g, g.y);
            const at::Tensor inside = (g.trainable > 0.5) & (g.up > g.down);
            const at::Tensor err = (back - w).abs().masked_select(inside);
            EXPECT_LT(err.max().item<float>(), 1e-6f * w.abs().max().item<float>() + 1e-8f) << what;
            // Nearest rounding of y is RTN: the same values, up to ties.
            const auto rounded = round_to_grid(g, at::round(g.y));
            const std::vector<float> a = rounded->dequantize(), b = r.packed->dequantize();
            std::int64_t same = 0;
            for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i] ? 1 : 0;
            EXPECT_GE(same, static_cast<std::int64_t>(a.size()) * 999 / 1000) << what;
          }
        }
      }
    }
  }
}

TEST(DiscQuantGrid, RoundingPicksDownOrUpAndKeepsOutliersAndOffsets) {
  const at::Tensor w = heavy_tailed(32, 64, 5);
  const LayerQuantResult r = quantize_layer("l", w, at::Tensor(), rtn_options(4, CodeKind::Signed, true, true, 0));
  const RoundingGrid g = rounding_grid(*r.packed, w);
  at::manual_seed(9);
  const at::Tensor x = at::rand(g.y.sizes());
  const auto p = round_to_grid(g, x);
  const std::vector<float> v = p->dequantize();
  const float* d = g.down.data_ptr<float>();
  const float* u = g.up.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  for (std::size_t i = 0; i < v.size(); ++i) {
    ASSERT_TRUE(v[i] == d[i] || v[i] == u[i]) << i;
    if (d[i] != u[i]) {
      ASSERT_EQ(v[i], xp[i] >= 0.5f ? u[i] : d[i]) << i;
    }
  }
  EXPECT_EQ(p->outlier_count(), r.packed->outlier_count());
  for (int c = 0; c < 64; ++c) EXPECT_EQ(p->offset(c), r.packed->offset(c));
  // Half rounds to even: x = 0.5 stays down.
  const auto half = round_to_grid(g, at::full(g.y.sizes(), 0.5f));
  EXPECT_EQ(half->dequantize(), round_to_grid(g, at::zeros(g.y.sizes()))->dequantize());
}

TEST(DiscQuant, ScheduleIsLinearWarmupThenCosine) {
  DiscQuantOptions o;
  o.steps = 1024;
  o.warmup = 128;
  o.lr = 0.01;
  EXPECT_EQ(discquant_lr(o, 0), 0.0);
  EXPECT_NEAR(discquant_lr(o, 64), 0.005, 1e-15);
  EXPECT_NEAR(discquant_lr(o, 128), 0.01, 1e-15);
  EXPECT_NEAR(discquant_lr(o, 128 + 448), 0.005, 1e-12);
  EXPECT_NEAR(discquant_lr(o, 1023), 0.01 * 0.5 * (1 + std::cos(M_PI * 895.0 / 896.0)), 1e-15);
  o.warmup = 1024;
  EXPECT_THROW(o.validate(), InvalidArgument);
}

TEST(DiscQuant, KlIsZeroForEqualLogitsAndMatchesTheDefinition) {
  const at::Tensor t = at::tensor({1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f}).reshape({2, 3});
  const at::Tensor s = at::tensor({0.5f, 2.5f, 0.5f, 0.0f, 0.0f, 1.0f}).reshape({2, 3});
  EXPECT_NEAR(kl_divergence(t, t).item<double>(), 0.0, 1e-7);
  const at::Tensor p = at::softmax(t.to(at::kDouble), -1), q = at::softmax(s.to(at::kDouble), -1);
  const double expected = (p * (p.log() - q.log())).sum().item<double>() / 2.0;
  EXPECT_NEAR(kl_divergence(t, s).item<double>(), expected, 1e-6);
}

// The gradient the optimiser uses, of the real objective on the bundled model (block 0's seven
// Linears trained), against central finite differences along random directions; with Hadamard
// incoherence the gradient also flows through the dense input and output rotations.
TEST(DiscQuant, GradientMatchesFiniteDifferences) {
  for (const bool rotated : {false, true}) {
    model::LoadedModel lm = model::load_model(kBin);
    model::Decoder& m = *lm.decoder;
    const LayerQuantOptions o = rtn_options(3, CodeKind::Signed, false, false, 0);
    std::vector<RoundingGrid> grids;
    std::vector<std::string> names;
    for (model::QuantLinear* lin : m.block_linears(0)) {
      if (rotated) {
        lin->set_incoherence(std::make_shared<IncoherenceRotation>(
            make_incoherence(lin->out_features(), lin->in_features(), 2, lin->name())));
      }
      const at::Tensor w = lin->quantization_weight();
      grids.push_back(rounding_grid(*quantize_layer(lin->name(), w, at::Tensor(), o).packed, w));
      names.push_back(lin->name());
    }
    std::vector<const RoundingGrid*> gp;
    for (const auto& g : grids) gp.push_back(&g);
    DiscQuantObjective objective(m, names, gp, 1e-3);
    at::manual_seed(1);
    std::vector<at::Tensor> x;
    for (const auto& g : grids) x.push_back(at::rand(g.y.sizes()).set_requires_grad(true));
    const auto win = windows(2, 24);
    const double l0 = objective.loss_and_grad(x, win);
    EXPECT_GT(l0, 0.0);
    for (int trial = 0; trial < 3; ++trial) {
      std::vector<at::Tensor> d;
      double directional = 0.0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        d.push_back(at::randn(x[i].sizes()));
        directional += (x[i].grad() * d.back()).sum().item<double>();
      }
      const double h = 1e-2;
      std::vector<at::Tensor> plus, minus;
      for (std::size_t i = 0; i < x.size(); ++i) {
        plus.push_back(x[i].detach() + h * d[i]);
        minus.push_back(x[i].detach() - h * d[i]);
      }
      const double fd = (objective.loss(plus, win) - objective.loss(minus, win)) / (2 * h);
      EXPECT_GT(std::fabs(directional), 1e-2) << "a vanishing gradient would pass any comparison";
      EXPECT_NEAR(fd, directional, 0.02 * std::fabs(directional) + 1e-6) << "trial " << trial << " rotated " << rotated;
    }
  }
}

TEST(DiscQuant, SameSeedSameBitsAndEveryWeightOnItsTwoPoints) {
  DiscQuantOptions dq;
  dq.steps = 6;
  dq.warmup = 2;
  dq.lr = 0.05;
  dq.windows_per_step = 2;
  dq.log_every = 2;
  LayerQuantOptions o = rtn_options(3, CodeKind::Signed, true, true, 0);
  o.method = Method::DiscQuant;
  std::vector<std::vector<std::uint16_t>> words[2];
  std::vector<DiscQuantStep> logs[2];
  for (int run = 0; run < 2; ++run) {
    model::LoadedModel lm = model::load_model(kBin);
    const DiscQuantResult r = discquant_model(*lm.decoder, windows(4, 32), o, dq);
    logs[run] = r.log;
    EXPECT_EQ(r.layers.size(), 35u);
    EXPECT_GT(r.delta2, 0.0);
    for (int l = 0; l < lm.decoder->num_blocks(); ++l) {
      for (model::QuantLinear* lin : lm.decoder->block_linears(l)) {
        ASSERT_TRUE(lin->has_packed());
        EXPECT_FALSE(lin->weight_override().defined());
        words[run].push_back(lin->packed()->packed_words());
        if (run == 0 && l == 0) {
          // The trained model's weights sit on the RTN grid's two points around each weight.
          const RoundingGrid g = rounding_grid(
              *quantize_layer(lin->name(), lin->weight(), at::Tensor(), rtn_options(3, CodeKind::Signed, true, true, 0)).packed,
              lin->weight());
          const std::vector<float> v = lin->packed()->dequantize();
          const float* d = g.down.data_ptr<float>();
          const float* u = g.up.data_ptr<float>();
          for (std::size_t i = 0; i < v.size(); ++i) ASSERT_TRUE(v[i] == d[i] || v[i] == u[i]) << lin->name() << " " << i;
        }
      }
    }
  }
  EXPECT_EQ(words[0], words[1]);
  ASSERT_EQ(logs[0].size(), logs[1].size());
  ASSERT_EQ(logs[0].size(), 4u);  // steps 0, 2, 4 and the last
  for (std::size_t i = 0; i < logs[0].size(); ++i) EXPECT_EQ(logs[0][i].kl, logs[1][i].kl);
  EXPECT_EQ(logs[0].front().lr, 0.0);
  // Blocks trained one at a time is a different, equally valid run.
  dq.blocks_at_once = 1;
  model::LoadedModel lm = model::load_model(kBin);
  const DiscQuantResult r = discquant_model(*lm.decoder, windows(4, 32), o, dq);
  EXPECT_EQ(r.log.back().step + 1, 6 * lm.decoder->num_blocks());
}

}  // namespace oacim::quant
