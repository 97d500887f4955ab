// A Linear quantized with Hadamard incoherence: every backend computes rot_out(rot_in(x) W~q^T),
// which is x times the un-rotated dequantized weight; the differentiable (dense) and fast
// transforms agree; input observers (the Hessian) see rotated inputs; the rotation survives a
// quantized model directory; quantize --incoherence runs every method.
#include <gtest/gtest.h>

#include <filesystem>

#include <ATen/ATen.h>

#include "oacim/core/incoherence.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quant_linear.hpp"
#include "oacim/quant/layer_quantizer.hpp"
#include "oacim/quant/quantize_run.hpp"

namespace oacim::quant {
namespace {

const std::string kBin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";

}  // namespace

TEST(IncoherentLinear, EveryBackendComputesTheUnrotatedDequantizedWeight) {
  at::manual_seed(4);
  const int R = 48, C = 64;
  const at::Tensor w = at::randn({R, C}) * 0.05;
  const at::Tensor bias = at::randn({R}) * 0.1;
  model::QuantLinear lin("l", w, bias);
  auto rot = std::make_shared<IncoherenceRotation>(make_incoherence(R, C, 3, "l"));
  lin.set_incoherence(rot);
  const at::Tensor wt = lin.quantization_weight();
  EXPECT_GT((wt - w).abs().max().item<float>(), 1e-3f);
  LayerQuantOptions o;
  o.method = Method::Rtn;
  const LayerQuantResult q = quantize_layer("l", wt, at::Tensor(), o);
  const hw::HwConfig cfg = hw::default_hw_config();
  lin.set_packed(q.packed, &cfg);
  const std::vector<float> deq = q.packed->dequantize();
  const std::vector<float> back = unrotate_weight(*rot, deq.data());
  const at::Tensor w_eff = at::from_blob(const_cast<float*>(back.data()), {R, C}, at::kFloat).clone();
  const at::Tensor x = at::randn({2, 5, C});
  const at::Tensor expected = at::linear(x, w_eff, bias);
  const at::Tensor fq = lin.forward(x, model::Backend::FakeQuant);
  EXPECT_LT((fq - expected).abs().max().item<float>(), 1e-5f);
  // The float backend is the checkpoint's W, unrotated.
  EXPECT_LT((lin.forward(x, model::Backend::Float) - at::linear(x, w, bias)).abs().max().item<float>(), 1e-6f);
  // The datapath rounds its inputs and outputs: close to fake-quant, not equal.
  const at::Tensor hw = lin.forward(x, model::Backend::Hw);
  EXPECT_LT((hw - fq).abs().max().item<float>(), 0.05f * fq.abs().max().item<float>());
  // Dense (autograd) transforms give the fast transforms' values, and a gradient.
  const at::Tensor xg = x.clone().set_requires_grad(true);
  const at::Tensor yg = lin.forward(xg, model::Backend::FakeQuant);
  EXPECT_LT((yg.detach() - fq).abs().max().item<float>(), 1e-5f);
  yg.sum().backward();
  const at::Tensor g_expected = at::ones({2, 5, R}).matmul(w_eff);
  EXPECT_LT((xg.grad() - g_expected).abs().max().item<float>(), 1e-4f);
  // Observers see the rotated input, in every backend.
  std::vector<float> seen;
  lin.capture_inputs(&seen, 1);
  lin.forward(x, model::Backend::Float);
  std::vector<float> x0(x.data_ptr<float>(), x.data_ptr<float>() + C);
  rotate_inputs(*rot, x0.data(), 1);
  ASSERT_EQ(seen.size(), x0.size());
  for (int c = 0; c < C; ++c) EXPECT_NEAR(seen[static_cast<std::size_t>(c)], x0[static_cast<std::size_t>(c)], 1e-6f);
  lin.capture_inputs(nullptr, 0);
}

TEST(IncoherentLinear, QuantizedDirectoryKeepsTheRotation) {
  const std::string dir = ::testing::TempDir() + "/incoherent_rtn";
  std::filesystem::remove_all(dir);
  QuantizeRunOptions o;
  o.model_path = kBin;
  o.layer.method = Method::Rtn;
  o.incoherence = "hadamard";
  o.incoherence_seed = 5;
  o.out_dir = dir;
  o.progress = nullptr;
  const QuantizeRunResult r = run_quantize(o);
  EXPECT_EQ(r.rotated_both, 20);  // attention (64 x 64) both sides; 172-wide FFN sides have no H_172
  EXPECT_EQ(r.unrotated_sides.size(), 15u);
  model::LoadedModel lm = model::load_model(dir);
  model::LoadedModel ref = model::load_model(kBin);
  int rotated = 0;
  for (int l = 0; l < lm.decoder->num_blocks(); ++l) {
    const auto lins = lm.decoder->block_linears(l);
    const auto refs = ref.decoder->block_linears(l);
    for (std::size_t i = 0; i < lins.size(); ++i) {
      const IncoherenceRotation* rot = lins[i]->incoherence();
      ASSERT_NE(rot, nullptr) << lins[i]->name();
      rotated += rot->rotates_inputs() && rot->rotates_outputs();
      const IncoherenceRotation want = make_incoherence(lins[i]->out_features(), lins[i]->in_features(), 5, lins[i]->name());
      EXPECT_EQ(rot->sign_in, want.sign_in);
      EXPECT_EQ(rot->sign_out, want.sign_out);
      // The stored (rotated) weights, rotated back, are close to the float weights.
      const std::vector<float> deq = lins[i]->packed()->dequantize();
      const std::vector<float> back = unrotate_weight(*rot, deq.data());
      const at::Tensor b = at::from_blob(const_cast<float*>(back.data()), refs[i]->weight().sizes(), at::kFloat);
      const double rel = ((b - refs[i]->weight()).norm() / refs[i]->weight().norm()).item<double>();
      EXPECT_LT(rel, 0.2) << lins[i]->name();
    }
  }
  EXPECT_EQ(rotated, 20);
}

}  // namespace oacim::quant
