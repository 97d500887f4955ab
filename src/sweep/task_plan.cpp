#include "oacim/sweep/task_plan.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "oacim/core/fnv1a.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/quant/layer_quant_options.hpp"

namespace oacim::sweep {

namespace fs = std::filesystem;

namespace {

std::string hex(std::uint64_t h) { return fmt::format("{:016x}", h); }

// A file's identity for cache keys: path and size (a rerun in the same DIR after the model
// changed must not reuse its quantized weights).
std::string file_identity(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fmt::format("{}#{}", path, fs::file_size(path, ec));
  if (fs::is_directory(path, ec)) {
    std::uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.is_regular_file(ec)) total += e.file_size(ec);
    }
    return fmt::format("{}#{}", path, total);
  }
  return path;
}

struct Builder {
  const Experiment& ex;
  const std::string& dir;
  Plan plan;
  std::map<std::string, std::size_t> by_id;

  // Adds (or finds) the task with these arguments. `outputs` maps output options to file suffixes:
  // the path is DIR/cache/<id><suffix>, so the id covers the inputs only.
  std::size_t add(const std::string& kind, const std::string& what, std::vector<std::string> args,
                  const std::vector<std::pair<std::string, std::string>>& outputs, const std::string& done_suffix,
                  std::vector<std::size_t> deps) {
    std::string key = kind;
    for (const auto& a : args) key += '\x1f' + a;
    key += '\x1f' + file_identity(ex.value("model"));
    const std::string id = kind + "-" + hex(fnv1a64(key));
    if (const auto it = by_id.find(id); it != by_id.end()) return it->second;
    const std::string base = (fs::path(dir) / "cache" / id).string();
    for (const auto& [option, suffix] : outputs) {
      args.push_back(option);
      args.push_back(base + suffix);
    }
    Task t{id, kind, what, std::move(args), base, base + done_suffix, std::move(deps)};
    plan.tasks.push_back(std::move(t));
    by_id[id] = plan.tasks.size() - 1;
    return plan.tasks.size() - 1;
  }

  std::vector<std::string> model_args(const std::string& option, const std::string& model) const {
    std::vector<std::string> a = {option, model};
    if (!ex.value("tokenizer").empty()) {
      a.push_back("--tokenizer");
      a.push_back(ex.value("tokenizer"));
    }
    return a;
  }

  std::string hw_file(const SweepPoint& p, std::string& name) {
    const hw::HwConfig cfg = point_hw_config(ex, p);
    const std::string yaml = hw::to_yaml(cfg);
    const std::string path = (fs::path(dir) / "cache" / ("hw-" + hex(fnv1a64(yaml)) + ".yaml")).string();
    plan.hw_files[path] = yaml;
    name = cfg.name.empty() ? "defaults" : cfg.name;
    if (!p.hw_overrides().empty()) name += " + overrides";
    return path;
  }

  void add_point(const SweepPoint& p) {
    PointPlan pp;
    pp.point = p;
    std::string settings_key;
    for (const auto& [k, v] : p.settings) settings_key += k + "=" + v + "\n";
    for (const auto& [k, v] : ex.lists) settings_key += k + "=" + fmt::format("{}", fmt::join(v, ",")) + "\n";
    pp.id = hex(fnv1a64(settings_key));

    const auto& backends = ex.lists.at("backends");
    auto has = [&](const char* b) { return std::find(backends.begin(), backends.end(), b) != backends.end(); };
    const bool quantized = has("fakequant") || has("hw") || has("systemc");
    const bool chip = has("hw") || has("systemc");
    const std::string& model = ex.value("model");
    const std::string& data_dir = ex.value("data_dir");
    const bool tweak = p.flag("normtweak.enabled");
    const bool method_calib =
        quant::needs_calibration(quant::method_from_string(p.str("quantization.method"), "quantization.method"));
    const bool needs_calib = method_calib || tweak;

    if (chip || (tweak && p.str("normtweak.backend") == "hw")) pp.hw_file = hw_file(p, pp.hw_name);

    std::optional<std::size_t> calib;
    std::string calib_source = p.str("calibration.source");
    if (quantized && needs_calib && calib_source == "self") {
      std::vector<std::string> a = {"calib"};
      for (auto& s : model_args("--model", model)) a.push_back(s);
      a.insert(a.end(), {"--n", p.str("calibration.nsamples"), "--len", p.str("calibration.seqlen"), "--seed",
                         p.str("calibration.seed")});
      calib = add("calib", "calibration text, " + p.str("calibration.nsamples") + " samples", a, {{"--out", ".safetensors"}}, ".safetensors", {});
      calib_source = plan.tasks[*calib].done_file;
    }
    std::optional<std::size_t> model_task;
    std::string quantized_dir;
    if (quantized) {
      std::vector<std::string> a = {"quantize"};
      for (auto& s : model_args("--model", model)) a.push_back(s);
      a.insert(a.end(), {"--method", p.str("quantization.method"), "--wbits", p.str("quantization.wbits"),
                         "--block-size", p.str("quantization.block_size"), "--codes", p.str("quantization.codes"),
                         "--range", p.str("quantization.range"), "--offset-sign", p.str("quantization.offset_sign"),
                         "--qq-scale-bits", p.str("quantization.qq_scale_bits"), "--qq-zero-bits",
                         p.str("quantization.qq_zero_bits"), "--percdamp", p.str("quantization.percdamp")});
      if (p.flag("quantization.outliers")) a.push_back("--outliers");
      if (p.flag("quantization.offsets")) a.push_back("--offsets");
      if (p.flag("quantization.act_order")) a.push_back("--act-order");
      if (p.flag("quantization.true_sequential")) a.push_back("--true-sequential");
      if (p.str("quantization.incoherence") != "none") {
        a.insert(a.end(), {"--incoherence", p.str("quantization.incoherence"), "--incoherence-seed",
                           p.str("quantization.incoherence_seed")});
      }
      if (p.str("quantization.method") == "discquant") {
        a.insert(a.end(), {"--dq-steps", p.str("discquant.steps"), "--dq-warmup", p.str("discquant.warmup"), "--dq-lr",
                           p.str("discquant.lr"), "--dq-clamp", p.str("discquant.clamp"), "--dq-rho", p.str("discquant.rho"),
                           "--dq-windows-per-step", p.str("discquant.windows_per_step"), "--dq-init",
                           p.str("discquant.init"), "--dq-seed", p.str("discquant.seed")});
      }
      if (method_calib) {
        a.insert(a.end(), {"--calib", calib_source, "--nsamples", p.str("calibration.nsamples"), "--seqlen",
                           p.str("calibration.seqlen"), "--seed", p.str("calibration.seed")});
        if (!data_dir.empty()) a.insert(a.end(), {"--data-dir", data_dir});
      }
      std::vector<std::size_t> deps;
      if (calib && method_calib) deps.push_back(*calib);
      pp.quantize = add("quantize", fmt::format("{} {}-bit", p.str("quantization.method"), p.str("quantization.wbits")), a, {{"--out", ""}, {"--json", ".json"}}, ".json", deps);
      model_task = pp.quantize;
      quantized_dir = plan.tasks[*pp.quantize].out;
      if (tweak) {
        std::vector<std::string> t = {"tweak", "--model", model, "--quantized", quantized_dir, "--calib", calib_source,
                                      "--nsamples", p.str("calibration.nsamples"), "--lr", p.str("normtweak.lr"),
                                      "--scale", p.str("normtweak.scale"), "--iters", p.str("normtweak.iters"),
                                      "--backend", p.str("normtweak.backend"), "--heldout", "0"};
        if (p.str("normtweak.backend") == "hw") t.insert(t.end(), {"--hw", pp.hw_file});
        std::vector<std::size_t> tdeps = {*pp.quantize};
        if (calib) tdeps.push_back(*calib);
        pp.tweak = add("tweak", "norm tweak lr " + p.str("normtweak.lr"), t, {{"--out", ""}, {"--json", ".json"}}, ".json", tdeps);
        model_task = pp.tweak;
        quantized_dir = plan.tasks[*pp.tweak].out;
      }
    }

    const auto& datasets = ex.lists.at("datasets");
    for (std::size_t d = 0; d < datasets.size(); ++d) {
      std::vector<std::string> common = {"--dataset", datasets[d], "--seqlen", p.str("eval.seqlen"), "--max-windows",
                                         p.str("eval.max_windows")};
      if (!data_dir.empty()) common.insert(common.end(), {"--data-dir", data_dir});
      auto eval = [&](const std::string& backend, const std::string& model_path, std::vector<std::size_t> deps,
                      std::vector<std::string> extra) {
        std::vector<std::string> a = {"eval"};
        for (auto& s : model_args("--model", model_path)) a.push_back(s);
        a.insert(a.end(), common.begin(), common.end());
        a.insert(a.end(), {"--backend", backend});
        a.insert(a.end(), extra.begin(), extra.end());
        return add("eval", "eval " + backend + " on " + fs::path(datasets[d]).filename().string(), a, {{"--json", ".json"}}, ".json", std::move(deps));
      };
      if (has("float")) pp.evals.push_back({datasets[d], "float", false, eval("float", model, {}, {})});
      if (!quantized) continue;
      if (has("fakequant")) {
        pp.evals.push_back({datasets[d], "fakequant", false, eval("fakequant", quantized_dir, {*model_task}, {})});
      }
      if (chip) {
        // SystemC co-simulates on the first dataset only; that run also gives its hw numbers.
        const bool systemc = has("systemc") && d == 0;
        std::vector<std::string> extra = {"--hw", pp.hw_file};
        if (systemc) {
          const auto& layers = ex.lists.at("systemc.layers");
          if (!layers.empty()) extra.insert(extra.end(), {"--systemc-layers", fmt::format("{}", fmt::join(layers, ","))});
          extra.insert(extra.end(), {"--systemc-tokens", p.str("systemc.tokens")});
        }
        pp.evals.push_back(
            {datasets[d], "hw", systemc, eval(systemc ? "systemc" : "hw", quantized_dir, {*model_task}, extra)});
      }
    }
    // Every task the point needs, dependencies first (task indices grow with dependencies).
    std::vector<std::size_t> todo;
    for (const auto& e : pp.evals) todo.push_back(e.task);
    while (!todo.empty()) {
      const std::size_t t = todo.back();
      todo.pop_back();
      if (std::find(pp.tasks.begin(), pp.tasks.end(), t) != pp.tasks.end()) continue;
      pp.tasks.push_back(t);
      for (const std::size_t d : plan.tasks[t].deps) todo.push_back(d);
    }
    std::sort(pp.tasks.begin(), pp.tasks.end());
    plan.points.push_back(std::move(pp));
  }
};

}  // namespace

Plan make_plan(const Experiment& experiment, const std::vector<SweepPoint>& points, const std::string& out_dir) {
  Builder b{experiment, out_dir, {}, {}};
  for (const auto& p : points) b.add_point(p);
  return std::move(b.plan);
}

}  // namespace oacim::sweep
