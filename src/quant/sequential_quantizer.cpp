#include "oacim/quant/sequential_quantizer.hpp"

#include <map>
#include <memory>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "oacim/core/error.hpp"
#include "oacim/quant/hessian.hpp"
#include "oacim/quant/layer_quantizer.hpp"

namespace oacim::quant {

std::vector<LayerQuantStats> quantize_model(model::Decoder& m, const std::vector<std::vector<int>>& windows,
                                            const SequentialOptions& o, const LayerProgress& progress) {
  o.layer.check_packable();
  const bool needs_h = uses_hessian(o.layer.method);
  if (needs_h && windows.empty()) throw InvalidArgument("--nsamples", "GPTQ and OA need calibration windows");
  if (o.resume_blocks < 0 || o.resume_blocks > m.num_blocks()) throw InvalidArgument("resume_blocks", "out of range");
  int total = 0;
  for (int l = o.resume_blocks; l < m.num_blocks(); ++l) total += static_cast<int>(m.block_linears(l).size());
  // Layers not yet quantized run fp32 inside the fake-quant forward passes.
  for (int l = 0; l < m.num_blocks(); ++l) {
    for (model::QuantLinear* lin : m.block_linears(l)) lin->set_float_fallback(true);
  }
  std::vector<LayerQuantStats> stats;
  const auto quantize = [&](model::QuantLinear* lin, const at::Tensor& h, int block) {
    LayerQuantResult r = quantize_layer(lin->name(), lin->quantization_weight(), h, o.layer);
    lin->set_packed(r.packed, nullptr);
    stats.push_back(r.stats);
    if (progress) progress(stats.back(), block, static_cast<int>(stats.size()), total);
  };
  std::vector<at::Tensor> inps;
  if (needs_h) {
    at::NoGradGuard no_grad;
    for (const auto& w : windows) inps.push_back(m.embed(w));
  }
  int new_blocks = 0;
  for (int l = 0; l < m.num_blocks(); ++l) {
    if (o.max_new_blocks > 0 && new_blocks == o.max_new_blocks) break;
    const std::size_t first = stats.size();
    const auto block_done = [&]() {
      ++new_blocks;
      if (o.on_block_done) o.on_block_done(l, std::vector<LayerQuantStats>(stats.begin() + static_cast<std::ptrdiff_t>(first), stats.end()));
    };
    if (l < o.resume_blocks) {
      for (model::QuantLinear* lin : m.block_linears(l)) {
        if (!lin->has_packed()) throw InvalidArgument(lin->name(), "a resumed block must already hold packed weights");
      }
      if (needs_h) {
        at::NoGradGuard no_grad;
        for (at::Tensor& x : inps) x = m.block_forward(l, x, model::Backend::FakeQuant);
      }
      continue;
    }
    if (!needs_h) {
      for (model::QuantLinear* lin : m.block_linears(l)) quantize(lin, at::Tensor(), l);
      block_done();
      continue;
    }
    const std::vector<std::vector<model::QuantLinear*>> groups =
        o.true_sequential ? m.sequential_groups(l) : std::vector<std::vector<model::QuantLinear*>>{m.block_linears(l)};
    for (const auto& group : groups) {
      std::map<model::QuantLinear*, std::unique_ptr<HessianAccumulator>> acc;
      for (model::QuantLinear* lin : group) {
        auto a = std::make_unique<HessianAccumulator>(lin->in_features());
        HessianAccumulator* ap = a.get();
        lin->set_input_observer([ap](const at::Tensor& x) { ap->add_batch(x); });
        acc[lin] = std::move(a);
      }
      for (const at::Tensor& x : inps) m.block_forward(l, x, model::Backend::FakeQuant);
      for (model::QuantLinear* lin : group) lin->set_input_observer(nullptr);
      for (model::QuantLinear* lin : group) quantize(lin, acc[lin]->matrix(), l);
    }
    {
      at::NoGradGuard no_grad;
      for (at::Tensor& x : inps) x = m.block_forward(l, x, model::Backend::FakeQuant);
    }
    block_done();
  }
  for (int l = 0; l < m.num_blocks(); ++l) {
    for (model::QuantLinear* lin : m.block_linears(l)) lin->set_float_fallback(false);
  }
  return stats;
}

}  // namespace oacim::quant
