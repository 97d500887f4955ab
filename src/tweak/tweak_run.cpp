#include "oacim/tweak/tweak_run.hpp"
#include "oacim/tweak/tweak_options.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/token_file.hpp"
#include "oacim/data/datasets.hpp"
#include "oacim/eval/perplexity.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"
#include "oacim/tweak/norm_tweaker.hpp"

namespace fs = std::filesystem;

namespace oacim::tweak {

std::string tweak_options_json(const TweakRunOptions& o, const TweakPoint& chosen) {
  nlohmann::json j = tweak_options_to_json(o);
  j["method"] = "norm-tweak";
  j["lr"] = chosen.lr;
  j["scale"] = chosen.scale;
  return j.dump();
}

namespace {

void validate(const TweakRunOptions& o) {
  if (o.quantized_dir.empty()) throw InvalidArgument("quantized_dir", "is required");
  if (o.out_dir.empty()) throw InvalidArgument("out", "is required");
  if (o.calib.empty()) throw InvalidArgument("calib", "is required (a token file from `oacim calib`)");
  if (o.lrs.empty() || o.scales.empty()) throw InvalidArgument("grid_lr", "the grid needs at least one lr and one scale");
  if (o.nsamples < 0 || o.seqlen < 0 || o.heldout < -1 || o.select_seqlen < 0) {
    throw InvalidArgument("nsamples", "counts must not be negative");
  }
  if (o.backend != "fakequant" && o.backend != "hw") {
    throw InvalidArgument("backend", fmt::format("'{}' is not one of fakequant, hw", o.backend));
  }
  for (double lr : o.lrs) {
    NormTweakOptions n;
    n.lr = lr;
    n.validate();
  }
  for (double sc : o.scales) {
    NormTweakOptions n;
    n.scale = sc;
    n.validate();
  }
  NormTweakOptions n;
  n.iters = o.iters;
  n.validate();
  if (!model::is_quantized_model_dir(o.quantized_dir)) {
    throw InvalidArgument("quantized_dir", fmt::format("{} is not a quantized model directory (`oacim quantize --out`)", o.quantized_dir));
  }
  if (!is_token_file(o.calib)) {
    throw InvalidArgument("calib", fmt::format("{} is not a token sample file (write one with `oacim calib`)", o.calib));
  }
}

constexpr const char* kCheckpointFormat = "oacim-tweak-checkpoint/1";

// What must be equal for a checkpointed point to be reused: every setting but the grid itself.
std::string checkpoint_key(const TweakRunOptions& o, const model::QuantizedModelInfo& info) {
  nlohmann::json j = {{"quantized", fs::absolute(o.quantized_dir).lexically_normal().string()},
                      {"quantize_options", info.options_json},
                      {"calib", fs::absolute(o.calib).lexically_normal().string()},
                      {"nsamples", o.nsamples},
                      {"seqlen", o.seqlen},
                      {"heldout", o.heldout},
                      {"grid_points", o.lrs.size() * o.scales.size()},
                      {"iters", o.iters},
                      {"faithful", o.faithful},
                      {"backend", o.backend},
                      {"hw", o.backend == "hw" ? o.hw.name : ""},
                      {"select_on", o.select_on},
                      {"select_seqlen", o.select_seqlen}};
  return j.dump();
}

nlohmann::json nan_to_null(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }
double null_to_nan(const nlohmann::json& j) { return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>(); }

void save_point(const std::string& path, const std::string& key, const TweakPoint& p,
                const std::vector<std::pair<std::string, at::Tensor*>>& norms) {
  SafetensorsWriter w;
  for (const auto& [name, t] : norms) {
    const at::Tensor c = t->contiguous();
    w.add("norm." + name, DType::F32, std::vector<std::int64_t>(c.sizes().begin(), c.sizes().end()), c.data_ptr<float>(),
          static_cast<std::size_t>(c.numel()) * sizeof(float));
  }
  w.set_metadata("oacim.format", kCheckpointFormat);
  w.set_metadata("oacim.key", key);
  w.set_metadata("oacim.point", to_json(p).dump());
  fs::create_directories(fs::path(path).parent_path());
  w.write(path);
}

// Reads a finished point back (false when there is none). A checkpoint of other settings is an
// error, not a silent restart.
bool load_point(const std::string& path, const std::string& key, double lr, double scale,
                const std::vector<std::pair<std::string, at::Tensor*>>& norms, TweakPoint* p, std::vector<at::Tensor>* state) {
  if (!fs::exists(path)) return false;
  const SafetensorsFile f = SafetensorsFile::open(path);
  if (!f.metadata().count("oacim.format") || f.metadata_value("oacim.format") != kCheckpointFormat) {
    throw FormatError(path, "not an oacim tweak checkpoint");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f.metadata_value("oacim.point"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, fmt::format("oacim.point is not JSON: {}", e.what()));
  }
  if (f.metadata_value("oacim.key") != key || j.value("lr", -1.0) != lr || j.value("scale", -1.0) != scale) {
    throw InvalidArgument("out", fmt::format("{} holds a partial tweak run with other settings; rerun with those or "
                                               "delete it",
                                               fs::path(path).parent_path().string()));
  }
  try {
    p->lr = lr;
    p->scale = scale;
    p->heldout_ppl = null_to_nan(j.at("heldout_ppl"));
    p->select_ppl = null_to_nan(j.at("select_ppl"));
    p->seconds = j.at("seconds").get<double>();
    for (const auto& b : j.at("blocks")) {
      p->blocks.push_back({b.at("block").get<int>(), b.at("lr").get<double>(), b.at("loss_before").get<double>(),
                           b.at("loss_after").get<double>(), b.at("seconds").get<double>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, fmt::format("oacim.point: {}", e.what()));
  }
  for (const auto& [name, t] : norms) {
    const std::vector<std::int64_t> shape(t->sizes().begin(), t->sizes().end());
    const std::vector<float> v = f.read<float>("norm." + name, DType::F32, shape);
    at::Tensor loaded = at::empty(shape, at::kFloat);
    std::copy(v.begin(), v.end(), loaded.data_ptr<float>());
    state->push_back(loaded);
  }
  return true;
}

}  // namespace

nlohmann::json to_json(const TweakPoint& p) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const TweakBlock& b : p.blocks) {
    blocks.push_back({{"block", b.block}, {"lr", b.lr}, {"loss_before", b.loss_before}, {"loss_after", b.loss_after},
                      {"seconds", b.seconds}});
  }
  return {{"lr", p.lr}, {"scale", p.scale}, {"heldout_ppl", nan_to_null(p.heldout_ppl)},
          {"select_ppl", nan_to_null(p.select_ppl)}, {"seconds", p.seconds}, {"blocks", blocks}};
}

nlohmann::json to_json(const TweakRunResult& r) {
  nlohmann::json points = nlohmann::json::array();
  for (const TweakPoint& p : r.points) points.push_back(to_json(p));
  return {{"out", r.out_file},
          {"tweak_samples", r.tweak_samples},
          {"heldout_samples", r.heldout_samples},
          {"tweak_tokens", r.tweak_tokens},
          {"baseline_heldout_ppl", nan_to_null(r.baseline_heldout_ppl)},
          {"baseline_select_ppl", nan_to_null(r.baseline_select_ppl)},
          {"best", r.best},
          {"resumed_points", r.resumed_points},
          {"points", points},
          {"seconds", r.seconds}};
}

TweakRunResult run_tweak(const TweakRunOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  validate(o);
  const model::QuantizedModelInfo info = model::read_quantized_info(o.quantized_dir);
  if (!o.model_path.empty() &&
      fs::absolute(o.model_path).lexically_normal() != fs::absolute(info.source_model).lexically_normal()) {
    throw InvalidArgument("model_path", fmt::format("{} was quantized from {}, not {}", o.quantized_dir, info.source_model, o.model_path));
  }
  if (!info.tweak_json.empty()) throw InvalidArgument("quantized_dir", fmt::format("{} is already norm-tweaked", o.quantized_dir));
  model::LoadedModel lm = model::load_model(o.quantized_dir);
  model::Decoder& dec = *lm.decoder;
  const model::Backend backend = model::backend_from_string(o.backend, "backend");
  if (backend == model::Backend::Hw) {
    for (model::QuantLinear* lin : dec.linears()) {
      if (lin->has_packed()) lin->set_packed(lin->packed_shared(), &o.hw);
    }
  }

  // Calibration samples: the first nsamples, cut to seqlen; the last `heldout` of them held out.
  const TokenSamples file = read_token_file(o.calib);
  const int n = o.nsamples == 0 ? static_cast<int>(file.samples.size()) : o.nsamples;
  const int seqlen = o.seqlen == 0 ? dec.max_positions() : std::min(o.seqlen, dec.max_positions());
  std::vector<std::vector<int>> samples = first_samples(file, o.calib, n, seqlen, dec.vocab_size());
  const bool grid = o.lrs.size() * o.scales.size() > 1;
  const int heldout = o.heldout >= 0 ? o.heldout : (grid ? std::max(1, n / 8) : 0);
  if (grid && heldout == 0 && o.select_on.empty()) {
    throw InvalidArgument("heldout", "a grid search needs held-out samples (or --select-on) to choose a point");
  }
  if (heldout >= n) throw InvalidArgument("heldout", fmt::format("{} held-out samples leave none of {} to tweak on", heldout, n));
  std::vector<std::vector<int>> tweak_set, heldout_set;
  for (int i = 0; i < n; ++i) {
    std::vector<int>& cut = samples[static_cast<std::size_t>(i)];
    if (cut.size() < 2) continue;  // nothing to learn from a lone token
    (i < n - heldout ? tweak_set : heldout_set).push_back(std::move(cut));
  }
  if (tweak_set.empty()) throw InvalidArgument("calib", "no calibration sample has 2 or more tokens");

  std::vector<int> select_corpus;
  if (!o.select_on.empty()) {
    if (o.progress) {
      o.progress(fmt::format("warning: select_on {} picks the grid point on evaluation text (upstream practice); "
                             "its perplexity is no longer held out",
                             o.select_on));
    }
    select_corpus = data::dataset_tokens(o.select_on, o.data_dir, lm.tokenize,
                                         o.select_seqlen == 0 ? dec.max_positions() : o.select_seqlen);
  }
  const int select_seqlen = o.select_seqlen == 0 ? dec.max_positions() : o.select_seqlen;
  const auto heldout_ppl = [&]() {
    return heldout_set.empty() ? std::numeric_limits<double>::quiet_NaN() : std::exp(mean_nll(dec, heldout_set, backend));
  };
  // The selection metric: the held-out perplexity just measured, or the select_on dataset's.
  const auto select_ppl = [&](double heldout_value) {
    if (select_corpus.empty()) return heldout_value;
    return eval::perplexity([&](const std::vector<int>& t) { return dec.forward(t, backend); }, select_corpus, select_seqlen, 0).ppl;
  };

  TweakRunResult res;
  res.tweak_samples = static_cast<int>(tweak_set.size());
  res.heldout_samples = static_cast<int>(heldout_set.size());
  for (const auto& s : tweak_set) res.tweak_tokens += static_cast<std::int64_t>(s.size());
  res.baseline_heldout_ppl = heldout_ppl();
  res.baseline_select_ppl = select_ppl(res.baseline_heldout_ppl);

  // Every point starts from the quantized model's own norms; only norms change, so only they are
  // kept per point (in memory and in DIR/partial/point-NNN.safetensors, so a killed grid resumes).
  std::vector<std::pair<std::string, at::Tensor*>> norms;
  for (int l = 0; l < dec.num_blocks(); ++l) {
    for (const auto& p : dec.block_norm_params(l)) norms.push_back(p);
  }
  std::vector<at::Tensor> original;
  for (auto& [name, t] : norms) original.push_back(t->clone());
  std::vector<std::vector<at::Tensor>> tweaked;
  const std::string key = checkpoint_key(o, info);
  const fs::path partial = fs::path(o.out_dir) / "partial";
  const std::size_t total = o.lrs.size() * o.scales.size();
  for (double lr : o.lrs) {
    for (double scale : o.scales) {
      const auto tp = std::chrono::steady_clock::now();
      const std::string ckpt = (partial / fmt::format("point-{:03d}.safetensors", res.points.size())).string();
      TweakPoint p;
      std::vector<at::Tensor> state;
      if (load_point(ckpt, key, lr, scale, norms, &p, &state)) {
        if (o.progress) o.progress(fmt::format("tweak: point lr {:g} scale {:g} resumed from {}", lr, scale, ckpt));
        tweaked.push_back(std::move(state));
        res.points.push_back(std::move(p));
        ++res.resumed_points;
        continue;
      }
      std::size_t k = 0;
      for (auto& [name, t] : norms) t->copy_(original[k++]);
      NormTweakOptions nt;
      nt.lr = lr;
      nt.scale = scale;
      nt.iters = o.iters;
      nt.faithful = o.faithful;
      nt.backend = backend;
      p.lr = lr;
      p.scale = scale;
      const auto progress = [&](const BlockTweakStats& b, int done, int blocks) {
        if (!o.progress) return;
        o.progress(fmt::format("tweak: [point {}/{} lr {:g} scale {:g}] block {}/{}  loss {:.5g} -> {:.5g}  {:.2f} s",
                               res.points.size() + 1, total, lr, scale, done, blocks, b.loss_before, b.loss_after, b.seconds));
      };
      for (const BlockTweakStats& b : tweak_norms(dec, tweak_set, nt, progress)) {
        p.blocks.push_back({b.block, b.lr, b.loss_before, b.loss_after, b.seconds});
      }
      p.heldout_ppl = heldout_ppl();
      p.select_ppl = select_ppl(p.heldout_ppl);
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tp).count();
      if (o.progress) {
        o.progress(fmt::format("tweak: point lr {:g} scale {:g}: held-out ppl {:.4f} (before tweaking {:.4f})", lr, scale,
                               p.heldout_ppl, res.baseline_heldout_ppl));
      }
      for (auto& [name, t] : norms) state.push_back(t->clone());
      save_point(ckpt, key, p, norms);
      tweaked.push_back(std::move(state));
      res.points.push_back(std::move(p));
    }
  }
  // The lowest selection perplexity wins; with nothing to select on, the only point.
  for (std::size_t i = 1; i < res.points.size(); ++i) {
    if (res.points[i].select_ppl < res.points[static_cast<std::size_t>(res.best)].select_ppl) res.best = static_cast<int>(i);
  }
  std::size_t k = 0;
  for (auto& [name, t] : norms) t->copy_(tweaked[static_cast<std::size_t>(res.best)][k++]);

  model::QuantizedModelInfo out = info;
  out.tweak_json = tweak_options_json(o, res.points[static_cast<std::size_t>(res.best)]);
  model::save_quantized_model(o.out_dir, dec, out);
  fs::remove_all(partial);
  res.out_file = (fs::path(o.out_dir) / model::kQuantizedFile).string();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace oacim::tweak
