#include "oacim/eval/eval_run.hpp"

#include <unistd.h>

#include <cmath>
#include <iostream>
#include <memory>

#include <ATen/core/Tensor.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/ones_count.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/data/datasets.hpp"
#include "oacim/eval/perplexity.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"

namespace oacim::eval {

void resolve_backend(EvalOptions& o) {
  if (o.backend == "auto") o.backend = model::is_quantized_model_dir(o.model_path) ? "fakequant" : "float";
}

EvalResult run_eval(const EvalOptions& options) {
  EvalOptions o = options;
  resolve_backend(o);
  const model::Backend backend = model::backend_from_string(o.backend, "--backend");
  o.quant.validate();
  if (o.seqlen < 0 || o.max_windows < 0) throw InvalidArgument("--seqlen", "must not be negative");

  model::LoadedModel lm = model::load_model(o.model_path, o.tokenizer_path);
  model::Decoder& dec = *lm.decoder;
  const int seqlen = o.seqlen == 0 ? dec.max_positions() : o.seqlen;
  if (seqlen > dec.max_positions()) {
    throw InvalidArgument("--seqlen", fmt::format("{} exceeds the model's {} positions", seqlen, dec.max_positions()));
  }

  EvalResult res;
  res.quantized_model = lm.quantized;
  res.unquantized_source = lm.quantized && backend == model::Backend::Float;
  if (backend != model::Backend::Float) {
    // A quantized directory brings its packed Linears; a float model is quantized here with RTN.
    // The classifier stays fp32 either way.
    OnesCount ones;
    for (int l = 0; l < dec.num_blocks(); ++l) {
      for (model::QuantLinear* lin : dec.block_linears(l)) {
        std::shared_ptr<const PackedCimWeights> packed = lin->packed_shared();
        if (!packed) {
          const at::Tensor& w = lin->weight();
          const std::vector<float> wv(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
          packed = std::make_shared<const PackedCimWeights>(pack_rtn(wv, lin->out_features(), lin->in_features(), o.quant, nullptr));
        }
        ones += count_ones(*packed);
        res.outlier_count += packed->outlier_count();
        lin->set_packed(packed, backend == model::Backend::Hw || backend == model::Backend::SystemC ? &o.hw : nullptr);
      }
    }
    res.weight_ones = ones.ones;
    res.weight_bits = ones.stored_bits;
  }

  const std::vector<int> corpus = data::dataset_tokens(o.dataset, o.data_dir, lm.tokenize, seqlen);
  // A redrawn line on a terminal; in a log, a line about every tenth of the run.
  const bool tty = ::isatty(2) != 0;
  const auto progress = [&](int done, int total, double s) {
    if (!o.progress) return;
    if (!tty && done != total && done % std::max(1, total / 10) != 0) return;
    std::cerr << fmt::format("{}eval: window {}/{} ({:.1f} s, ETA {:.0f} s){}", tty ? "\r" : "", done, total, s,
                             s / done * (total - done), tty && done != total ? "   " : "\n")
              << std::flush;
  };
  std::unique_ptr<sim::LayerSampler> sampler;
  if (backend == model::Backend::SystemC) {
    std::vector<std::string> layers = o.systemc_layers;
    if (layers.empty()) {
      for (model::QuantLinear* lin : dec.block_linears(0)) layers.push_back(lin->name());
    }
    std::string names;
    for (model::QuantLinear* lin : dec.linears()) names += (names.empty() ? "" : ", ") + lin->name();
    for (const std::string& l : layers) {
      bool found = false;
      for (model::QuantLinear* lin : dec.linears()) found = found || (lin->name() == l && lin->has_packed());
      if (!found) {
        throw InvalidArgument("--systemc-layers", fmt::format("'{}' is not a quantized Linear of {} (it has: {})", l,
                                                              o.model_path, names.substr(0, 300)));
      }
    }
    sampler = std::make_unique<sim::LayerSampler>(o.hw, layers, o.systemc_tokens);
    for (model::QuantLinear* lin : dec.linears()) lin->set_datapath_observer(sampler.get());
  }
  const PerplexityResult r = perplexity([&](const std::vector<int>& ids) { return dec.forward(ids, backend); }, corpus,
                                        seqlen, o.max_windows, progress);
  if (!std::isfinite(r.ppl)) {
    throw Error(fmt::format("{} on {}: the perplexity is {} (mean NLL {}): the model computed non-finite logits on "
                            "the {} backend; a sign-off cannot pass on that",
                            o.model_path, o.dataset, r.ppl, r.mean_nll, o.backend));
  }
  res.perplexity = r.ppl;
  res.mean_nll = r.mean_nll;
  res.seqlen = r.seqlen;
  res.windows = r.windows;
  res.tokens = r.tokens;
  res.corpus_tokens = r.corpus_tokens;
  res.seconds = r.seconds;
  res.tokens_per_second = r.tokens_per_second;
  res.window_nll = r.window_nll;
  // Each layer holds its own weight bits once, so summing layers sums those too.
  for (const model::QuantLinear* lin : dec.linears()) res.hw_counters += lin->hw_counters();
  if (sampler) {
    for (model::QuantLinear* lin : dec.linears()) lin->set_datapath_observer(nullptr);
    if (o.progress) std::cerr << "eval: co-simulating the sampled layers in SystemC\n";
    res.systemc_checks = sampler->run();
  }
  return res;
}

bool EvalResult::systemc_bit_exact() const {
  if (systemc_checks.empty()) return false;
  for (const auto& c : systemc_checks) {
    if (!c.bit_exact()) return false;
  }
  return true;
}

LayerCapture capture_layer(const std::string& model_path, const std::string& tokenizer_path,
                           const std::string& text_file, const std::string& layer, int tokens) {
  model::LoadedModel lm = model::load_model(model_path, tokenizer_path);
  model::QuantLinear* target = nullptr;
  std::string names;
  for (model::QuantLinear* lin : lm.decoder->linears()) {
    if (lin->name() == layer) target = lin;
    if (names.size() < 300) names += (names.empty() ? "" : ", ") + lin->name();
  }
  if (!target) throw InvalidArgument("--layer", fmt::format("'{}' is not a Linear of {} (it has: {}, ...)", layer, model_path, names));
  if (tokens <= 0 || tokens > lm.decoder->max_positions()) {
    throw InvalidArgument("--tokens", fmt::format("{} is outside 1..{} (the model's positions)", tokens, lm.decoder->max_positions()));
  }
  std::vector<int> ids = lm.tokenize(read_whole_file(text_file));
  if (static_cast<int>(ids.size()) < tokens) {
    throw InvalidArgument("--tokens", fmt::format("{} has only {} tokens", text_file, ids.size()));
  }
  ids.resize(static_cast<std::size_t>(tokens));
  LayerCapture c;
  c.layer = layer;
  c.rows = target->out_features();
  c.cols = target->in_features();
  const at::Tensor& w = target->weight();
  c.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  target->capture_inputs(&c.inputs, tokens);
  lm.decoder->forward(ids, model::Backend::Float);
  target->capture_inputs(nullptr, 0);
  c.tokens = static_cast<int>(c.inputs.size() / static_cast<std::size_t>(c.cols));
  return c;
}

}  // namespace oacim::eval
