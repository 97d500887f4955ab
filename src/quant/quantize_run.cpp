#include "oacim/quant/quantize_run.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/eval/calibration.hpp"
#include "oacim/eval/perplexity.hpp"
#include "oacim/model/llama_model.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"
#include "oacim/model/sampler.hpp"
#include "oacim/quant/sequential_quantizer.hpp"

namespace fs = std::filesystem;

namespace oacim::quant {

std::string options_json(const QuantizeRunOptions& o) {
  const LayerQuantOptions& l = o.layer;
  nlohmann::json j = {
      {"method", to_string(l.method)},
      {"wbits", l.grid.grid.bits},
      {"codes", to_string(l.grid.grid.kind)},
      {"block_size", l.grid.grid.block_size},
      {"range", to_string(l.grid.range.rule)},
      {"mse", l.grid.range.mse},
      {"per_row_stats", l.grid.per_row},
      {"qq_scale_bits", l.grid.qq.scale_bits},
      {"qq_zero_bits", l.grid.qq.zero_bits},
      {"qq_zero_sym", l.grid.qq.zero_sym},
      {"qq_group_size", l.grid.qq.group_size},
      {"outliers", l.outliers},
      {"offsets", l.offsets},
      {"offset_sign", to_string(l.offset_search.sign)},
      {"max_offset", l.offset_search.max_abs_offset},
      {"percdamp", l.percdamp},
      {"act_order", l.act_order},
      {"static_groups", l.static_groups},
      {"gptq_block", l.gptq_block},
      {"true_sequential", o.true_sequential},
      {"calib", o.calib},
      {"nsamples", o.nsamples},
      {"seqlen", o.seqlen},
      {"seed", o.seed},
  };
  return j.dump();
}

namespace {

// Text the float model writes itself: llama2.c sampling (temperature 1, top-p 0.9) from BOS,
// one story per seed, concatenated; cut into consecutive windows.
std::vector<std::vector<int>> self_generated_windows(model::Decoder& dec, int nsamples, int seqlen, std::uint64_t seed) {
  auto* llama = dynamic_cast<model::LlamaModel*>(&dec);
  if (!llama) throw InvalidArgument("--calib", "self-generated calibration needs a LLaMA-family model; give a text file");
  std::vector<int> corpus;
  const std::size_t need = static_cast<std::size_t>(nsamples) * seqlen;
  for (std::uint64_t i = 0; corpus.size() < need; ++i) {
    model::Llama2cSampler sampler(1.0f, 0.9f, seed * 1000003ULL + i + 1);
    const std::vector<int> story = model::generate(*llama, {1}, llama->spec().max_seq_len, model::Backend::Float,
                                                   [&](std::vector<float> logits) { return sampler.sample(std::move(logits)); });
    corpus.insert(corpus.end(), story.begin(), story.end());
  }
  std::vector<std::vector<int>> windows;
  for (int n = 0; n < nsamples; ++n) {
    windows.emplace_back(corpus.begin() + static_cast<std::ptrdiff_t>(n) * seqlen, corpus.begin() + static_cast<std::ptrdiff_t>(n + 1) * seqlen);
  }
  return windows;
}

}  // namespace

QuantizeRunResult run_quantize(const QuantizeRunOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  o.layer.check_packable();
  if (o.out_dir.empty()) throw InvalidArgument("--out", "is required");
  if (o.nsamples < 1) throw InvalidArgument("--nsamples", fmt::format("{} must be >= 1", o.nsamples));
  if (o.seqlen < 0) throw InvalidArgument("--seqlen", "must not be negative");
  if (model::is_quantized_model_dir(o.model_path)) {
    throw InvalidArgument("--model", fmt::format("{} is already quantized; give its float source model", o.model_path));
  }
  model::LoadedModel lm = model::load_model(o.model_path, o.tokenizer_path);
  model::Decoder& dec = *lm.decoder;
  QuantizeRunResult res;
  res.seqlen = o.seqlen == 0 ? dec.max_positions() : o.seqlen;
  if (res.seqlen > dec.max_positions()) {
    throw InvalidArgument("--seqlen", fmt::format("{} exceeds the model's {} positions", res.seqlen, dec.max_positions()));
  }
  std::vector<std::vector<int>> windows;
  if (o.layer.method != Method::Rtn) {
    if (o.calib == "self") {
      windows = self_generated_windows(dec, o.nsamples, res.seqlen, o.seed);
    } else {
      if (o.calib == "wikitext2" || o.calib == "ptb" || o.calib == "ptb-new") {
        std::cerr << fmt::format("warning: --calib {} is an evaluation split; perplexity on it is no longer held out\n", o.calib);
      }
      const std::vector<int> corpus = lm.tokenize(eval::dataset_text(o.calib, o.data_dir));
      for (auto& w : eval::calibration_windows(corpus, o.nsamples, res.seqlen, o.seed)) windows.push_back(std::move(w.tokens));
    }
  }
  res.windows = static_cast<int>(windows.size());
  res.calib_tokens = static_cast<std::int64_t>(windows.size()) * res.seqlen;

  SequentialOptions so;
  so.layer = o.layer;
  so.true_sequential = o.true_sequential;
  const auto progress = [&](const LayerQuantStats& s, int block, int done, int total) {
    if (!o.progress) return;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << fmt::format("quantize: [{}/{}] block {} {} {}x{}  out-err {:.3g}  outliers {:.2f} %  ones {:.1f} %  "
                             "{:.2f} s  (ETA {:.0f} s)\n",
                             done, total, block, s.layer, s.rows, s.cols, s.output_error, 100.0 * s.outlier_share,
                             s.stored_bits ? 100.0 * static_cast<double>(s.ones) / static_cast<double>(s.stored_bits) : 0.0,
                             s.seconds, el / done * (total - done))
              << std::flush;
  };
  res.layers = quantize_model(dec, windows, so, progress);

  model::QuantizedModelInfo info;
  info.source_model = lm.source_model;
  info.tokenizer_path = lm.tokenizer_path;
  info.options_json = options_json(o);
  model::save_quantized_model(o.out_dir, dec, info);
  res.out_file = (fs::path(o.out_dir) / model::kQuantizedFile).string();
  double bits = 0.0;
  for (const LayerQuantStats& s : res.layers) {
    res.ones += s.ones;
    res.ones_before_offsets += s.ones_before_offsets;
    res.stored_bits += s.stored_bits;
    res.outliers += s.outliers;
    const std::int64_t n = static_cast<std::int64_t>(s.rows) * s.cols;
    res.weights += n;
    bits += s.bits_per_weight * static_cast<double>(n);
  }
  res.bits_per_weight = res.weights ? bits / static_cast<double>(res.weights) : 0.0;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace oacim::quant
