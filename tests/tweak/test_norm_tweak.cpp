// Norm Tweaking (docs/algorithms.md C): the distribution loss on NT's unit vector (29/3), Adam's update
// against torch's formula, gradients reaching only the norm parameters (everything else
// bit-identical), lr = 0 as the pure quantized baseline, both families, the hw backend in the
// loop (values bit-exact, straight-through gradients) and rejected options.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "oacim/core/error.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/optim/adam.hpp"
#include "oacim/tweak/distribution_loss.hpp"
#include "oacim/tweak/norm_tweaker.hpp"

namespace oacim::tweak {
namespace {

using model::Backend;
using optim::Adam;
using optim::AdamOptions;

const std::string kBin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";

// RTN 4-bit, block 32, on every block Linear (the classifier stays fp32).
void quantize_rtn(model::Decoder& m, const hw::HwConfig* hw_config = nullptr) {
  RtnPackOptions q;
  for (int l = 0; l < m.num_blocks(); ++l) {
    for (model::QuantLinear* lin : m.block_linears(l)) {
      const at::Tensor& w = lin->weight();
      const std::vector<float> wv(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
      lin->set_packed(std::make_shared<const PackedCimWeights>(pack_rtn(wv, lin->out_features(), lin->in_features(), q)), hw_config);
    }
  }
}

std::vector<std::vector<int>> samples() {
  std::vector<std::vector<int>> s;
  for (int i = 0; i < 4; ++i) {
    std::vector<int> t{1};
    for (int k = 0; k < 40; ++k) t.push_back(3 + (i * 37 + k * 11) % 500);
    s.push_back(t);
  }
  return s;
}

std::map<std::string, at::Tensor> snapshot(model::Decoder& m) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : m.named_tensors()) out[name] = t->clone();
  for (model::QuantLinear* lin : m.linears()) out["linear." + lin->name()] = lin->weight().clone();
  return out;
}

TEST(DistributionLoss, NtUnitVectorIs29Over3) {
  const at::Tensor f = at::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).reshape({1, 2, 3});
  const at::Tensor q = at::tensor({1.f, 9.f, 3.f, 8.f, 5.f, 6.f}).reshape({1, 2, 3});
  EXPECT_NEAR(channel_distribution_loss(f, q).item<double>(), 29.0 / 3.0, 1e-6);
  EXPECT_NEAR(channel_distribution_loss(f[0], q[0]).item<double>(), 29.0 / 3.0, 1e-6);
  EXPECT_EQ(channel_distribution_loss(f, f).item<double>(), 0.0);
  EXPECT_THROW(channel_distribution_loss(f, q.reshape({1, 3, 2})), InvalidArgument);
}

TEST(Adam, FollowsTorchsUpdate) {
  // Constant gradient g: every bias-corrected step moves p by lr * g / (|g| + eps).
  at::Tensor p = at::tensor({1.0, -2.0}, at::kDouble).requires_grad_(true);
  Adam adam({p}, AdamOptions{0.1});
  for (int i = 0; i < 3; ++i) {
    adam.zero_grad();
    (p * at::tensor({0.5, -4.0}, at::kDouble)).sum().backward();
    adam.step();
  }
  EXPECT_NEAR(p[0].item<double>(), 1.0 - 0.3, 1e-7);
  EXPECT_NEAR(p[1].item<double>(), -2.0 + 0.3, 1e-7);
  // AdamW decays first: p * (1 - lr wd) then the same step.
  at::Tensor w = at::tensor({2.0}, at::kDouble).requires_grad_(true);
  Adam adamw({w}, AdamOptions{0.1, 0.9, 0.999, 1e-8, 0.5, true});
  (w * 1.0).sum().backward();
  adamw.step();
  EXPECT_NEAR(w.item<double>(), 2.0 * (1 - 0.05) - 0.1, 1e-7);
  EXPECT_THROW(Adam({at::ones({1})}, AdamOptions{}), InvalidArgument);  // no grad
}

TEST(NormTweak, OnlyNormParametersChange) {
  model::LoadedModel lm = model::load_model(kBin);
  model::Decoder& m = *lm.decoder;
  quantize_rtn(m);
  const auto before = snapshot(m);
  NormTweakOptions o;
  o.lr = 1e-3;
  const auto stats = tweak_norms(m, samples(), o);
  ASSERT_EQ(static_cast<int>(stats.size()), m.num_blocks());
  std::map<std::string, bool> is_norm;
  for (int l = 0; l < m.num_blocks(); ++l) {
    for (auto& [name, t] : m.block_norm_params(l)) is_norm[name] = true;
  }
  EXPECT_EQ(is_norm.size(), 2u * static_cast<std::size_t>(m.num_blocks()));
  for (const auto& [name, t] : snapshot(m)) {
    const bool same = at::equal(t, before.at(name));
    if (is_norm.count(name)) {
      EXPECT_FALSE(same) << name << " was not tweaked";
      EXPECT_FALSE(t.requires_grad()) << name;
    } else {
      EXPECT_TRUE(same) << name << " changed";
    }
  }
  for (const auto& s : stats) {
    EXPECT_NEAR(s.lr, 1e-3 * (1 + 5.0 * s.block / m.num_blocks()), 1e-12);
    EXPECT_GT(s.loss_before, 0.0);
  }
}

TEST(NormTweak, ZeroLrIsThePureQuantizedBaselineInBothModes) {
  for (bool faithful : {false, true}) {
    model::LoadedModel lm = model::load_model(kBin);
    quantize_rtn(*lm.decoder);
    const auto before = snapshot(*lm.decoder);
    NormTweakOptions o;
    o.lr = 0.0;
    o.faithful = faithful;
    for (const auto& s : tweak_norms(*lm.decoder, samples(), o)) EXPECT_DOUBLE_EQ(s.loss_after, s.loss_before);
    for (const auto& [name, t] : snapshot(*lm.decoder)) EXPECT_TRUE(at::equal(t, before.at(name))) << name;
  }
}

TEST(NormTweak, LowersTheBlockLoss) {
  model::LoadedModel lm = model::load_model(kBin);
  model::Decoder& m = *lm.decoder;
  quantize_rtn(m);
  const auto s = samples();
  NormTweakOptions o;
  o.lr = 2e-3;
  o.scale = 0.0;
  o.iters = 3;
  const auto stats = tweak_norms(m, s, o);
  EXPECT_LT(stats[0].loss_after, stats[0].loss_before) << "block 0 sees the same inputs before and after";
}

TEST(NormTweak, OptAndGpt2TrainBothLayerNormTensors) {
  for (auto family : {model::GptSpec::Family::Opt, model::GptSpec::Family::Gpt2}) {
    const auto spec = model::GptSpec::shape(family, 32, 2, 4, 64, 50, 32);
    model::GptModel m = model::GptModel::random(spec, 3);
    quantize_rtn(m);
    std::vector<at::Tensor> before;
    for (auto& [name, t] : m.block_norm_params(1)) before.push_back(t->clone());
    ASSERT_EQ(before.size(), 4u);
    NormTweakOptions o;
    o.lr = 1e-2;
    tweak_norms(m, {{1, 2, 3, 4, 5, 6, 7, 8}, {9, 8, 7, 6, 5, 4, 3, 2}}, o);
    std::size_t k = 0;
    for (auto& [name, t] : m.block_norm_params(1)) EXPECT_FALSE(at::equal(*t, before[k++])) << name;
  }
}

TEST(NormTweak, HwBackendKeepsChipValuesAndPassesGradients) {
  model::LoadedModel lm = model::load_model(kBin);
  model::Decoder& m = *lm.decoder;
  const hw::HwConfig hw = hw::default_hw_config();
  quantize_rtn(m, &hw);
  // The straight-through path returns the datapath's values bit for bit.
  const at::Tensor x = m.embed(samples()[0]);
  at::Tensor plain, with_grad;
  {
    at::NoGradGuard g;
    plain = m.block_forward(0, x, Backend::Hw);
  }
  auto norms = m.block_norm_params(0);
  norms[0].second->requires_grad_(true);
  with_grad = m.block_forward(0, x, Backend::Hw);
  EXPECT_TRUE(with_grad.requires_grad());
  EXPECT_TRUE(at::equal(with_grad.detach(), plain));
  norms[0].second->requires_grad_(false);

  const auto before = norms[0].second->clone();
  NormTweakOptions o;
  o.lr = 1e-3;
  o.backend = Backend::Hw;
  tweak_norms(m, samples(), o);
  EXPECT_FALSE(at::equal(*m.block_norm_params(0)[0].second, before));
}

TEST(NormTweak, RejectsBadOptions) {
  const auto spec = model::GptSpec::shape(model::GptSpec::Family::Opt, 8, 1, 2, 16, 20, 16);
  model::GptModel m = model::GptModel::random(spec, 1);
  quantize_rtn(m);
  const std::vector<std::vector<int>> s{{1, 2, 3}};
  NormTweakOptions o;
  o.lr = -1;
  EXPECT_THROW(tweak_norms(m, s, o), InvalidArgument);
  o = {};
  o.iters = 0;
  EXPECT_THROW(tweak_norms(m, s, o), InvalidArgument);
  o = {};
  o.scale = std::nan("");
  EXPECT_THROW(tweak_norms(m, s, o), InvalidArgument);
  o = {};
  o.backend = Backend::Float;
  EXPECT_THROW(tweak_norms(m, s, o), InvalidArgument);
  o = {};
  EXPECT_THROW(tweak_norms(m, {}, o), InvalidArgument);
  EXPECT_THROW(tweak_norms(m, {{1}}, o), InvalidArgument);
}

}  // namespace
}  // namespace oacim::tweak
