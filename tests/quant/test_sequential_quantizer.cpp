// The sequential driver against a re-derivation of its first block: every Linear's Hessian summed
// on its own from the inputs it was handed, then quantize_layer. The driver shares one Hessian
// between Linears that read the same input (q, k, v; gate, up); the codes must not change.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "../support/random_llama.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/quant/hessian.hpp"
#include "oacim/quant/layer_quantizer.hpp"
#include "oacim/quant/sequential_quantizer.hpp"

namespace oacim::quant {
namespace {

TEST(SequentialQuantizer, SharedHessiansGiveTheCodesOfOneHessianPerLinear) {
  const std::string dir = test::write_random_llama("oacim_sequential_llama", 8);
  std::mt19937 rng(11);
  std::vector<std::vector<int>> windows(3, std::vector<int>(40));
  for (auto& w : windows) {
    for (int& t : w) t = 3 + static_cast<int>(rng() % 31000);
  }
  for (const bool true_sequential : {false, true}) {
    model::LoadedModel lm = model::load_model(dir);
    model::Decoder& dec = *lm.decoder;
    SequentialOptions so;
    so.layer.method = Method::Gptq;
    so.true_sequential = true_sequential;
    so.max_new_blocks = 1;
    so.on_block_done = [&](int, const std::vector<LayerQuantStats>&) {
      // The driver's block 0 against one accumulator per Linear over float inputs (the first group
      // of a true-sequential block, and every Linear of block 0 otherwise, sees the float block).
      at::NoGradGuard no_grad;
      std::map<model::QuantLinear*, std::shared_ptr<const PackedCimWeights>> driver;
      for (model::QuantLinear* lin : dec.block_linears(0)) driver[lin] = lin->packed_shared();
      const std::vector<model::QuantLinear*> first =
          true_sequential ? dec.sequential_groups(0).front() : dec.block_linears(0);
      std::map<model::QuantLinear*, std::unique_ptr<HessianAccumulator>> own;
      for (model::QuantLinear* lin : first) {
        own[lin] = std::make_unique<HessianAccumulator>(lin->in_features());
        lin->set_float_fallback(true);
        lin->release_packed();  // float inputs, as the driver's pass saw them
        HessianAccumulator* a = own[lin].get();
        lin->set_input_observer([a](const at::Tensor& x) { a->add_batch(x.detach().clone()); });
      }
      for (const auto& w : windows) dec.block_forward(0, dec.embed(w), model::Backend::FakeQuant);
      for (model::QuantLinear* lin : first) {
        lin->set_input_observer(nullptr);
        const LayerQuantResult r = quantize_layer(lin->name(), lin->quantization_weight(), own[lin]->matrix(), so.layer);
        EXPECT_EQ(r.packed->parts().codes, driver[lin]->parts().codes) << lin->name() << (true_sequential ? " true-sequential" : "");
        EXPECT_EQ(r.packed->parts().scales, driver[lin]->parts().scales) << lin->name();
        lin->set_packed(driver[lin], nullptr);
      }
    };
    quantize_model(dec, windows, so);
  }
}

}  // namespace
}  // namespace oacim::quant
