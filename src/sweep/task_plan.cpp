#include "oacim/sweep/task_plan.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "oacim/core/fnv1a.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/eval/eval_options.hpp"
#include "oacim/model/calibration_options.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/tweak/tweak_options.hpp"

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

// The options of a task's command line from its command's option table: an option with an
// experiment key takes the point's value (a list key its items joined by commas), `set` gives the
// values the plan computes (the model a task reads, the files other tasks wrote), by option name.
// An option is passed when it has a value, applies (its `when`), and is not an empty text or an
// unset switch.
template <class T>
std::vector<std::string> task_options(const std::vector<Option<T>>& table, const Experiment& ex, const SweepPoint& p,
                                      const std::map<std::string, std::string>& set) {
  auto value_of = [&](const OptionSpec& o, std::string& v) {
    if (const auto it = set.find(o.name); it != set.end()) {
      v = it->second;
      return true;
    }
    if (o.key.empty()) return false;
    if (const auto it = p.settings.find(o.key); it != p.settings.end()) {
      v = it->second;
      return true;
    }
    if (const auto it = ex.lists.find(o.key); it != ex.lists.end()) {
      v = join_option_list(it->second);
      return true;
    }
    return false;
  };
  const OptionLookup lookup = [&](const std::string& name) {
    const Option<T>* o = find_option(table, name);
    std::string v;
    if (!o) return v;
    return value_of(*o, v) ? v : o->default_text;
  };
  std::vector<std::string> args;
  for (const auto& o : table) {
    std::string v;
    if (o.cli.empty() || !value_of(o, v) || !o.applies(lookup)) continue;
    if (o.kind == OptionKind::Bool) {
      if (v == "true") args.push_back("--" + o.cli);
    } else if (!v.empty()) {
      args.insert(args.end(), {"--" + o.cli, v});
    }
  }
  return args;
}

template <class T>
std::vector<std::string> command(const std::string& name, const std::vector<Option<T>>& table, const Experiment& ex,
                                 const SweepPoint& p, const std::map<std::string, std::string>& set) {
  std::vector<std::string> a = {name};
  for (auto& s : task_options(table, ex, p, set)) a.push_back(std::move(s));
  return a;
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
                  std::vector<std::size_t> deps, double cost) {
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
    Task t{id, kind, what, std::move(args), base, base + done_suffix, std::move(deps), cost};
    plan.tasks.push_back(std::move(t));
    by_id[id] = plan.tasks.size() - 1;
    return plan.tasks.size() - 1;
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

  // Estimated run times in float-forward tokens. The factors are rough (docs/performance.md: the
  // fast hw model runs its Linears at 2-3x an fp32 matmul; GPTQ/OA run each calibration window
  // through a block once per true-sequential group plus once more; self-generation decodes one
  // token per step); they only order the tasks. An unknown length counts as 2048 tokens.
  static double tokens(const SweepPoint& p, const char* windows_key, const char* seqlen_key) {
    const double windows = p.number(windows_key) > 0 ? p.number(windows_key) : 128.0;
    const double seqlen = p.number(seqlen_key) > 0 ? p.number(seqlen_key) : 2048.0;
    return windows * seqlen;
  }
  static double eval_cost(const SweepPoint& p, const std::string& backend) {
    const double factor = backend == "float" || backend == "fakequant" ? 1.0 : backend == "hw" ? 2.5 : 3.0;
    return factor * tokens(p, "eval.max_windows", "eval.seqlen");
  }
  static double quantize_cost(const SweepPoint& p, bool needs_calibration) {
    if (!needs_calibration) return 1000.0;
    return (p.flag("quantization.true_sequential") ? 5.0 : 2.0) * tokens(p, "calibration.nsamples", "calibration.seqlen");
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
    const bool tweak = p.flag("normtweak.enabled");
    const bool method_calib =
        quant::needs_calibration(quant::method_from_string(p.str("quantization.method"), "quantization.method"));
    const bool needs_calib = method_calib || tweak;

    if (chip || (tweak && p.str("normtweak.backend") == "hw")) pp.hw_file = hw_file(p, pp.hw_name);

    std::optional<std::size_t> calib;
    std::string calib_source = p.str("calibration.source");
    if (quantized && needs_calib && calib_source == "self") {
      calib = add("calib", "calibration text, " + p.str("calibration.nsamples") + " samples",
                  command("calib", model::calib_options(), ex, p, {}), {{"--out", ".safetensors"}}, ".safetensors", {},
                  2.0 * tokens(p, "calibration.nsamples", "calibration.seqlen"));
      calib_source = plan.tasks[*calib].done_file;
    }
    std::optional<std::size_t> model_task;
    std::string quantized_dir;
    if (quantized) {
      const std::vector<std::string> a = command("quantize", quant::quantize_options(), ex, p, {{"calib", calib_source}});
      std::vector<std::size_t> deps;
      if (calib && method_calib) deps.push_back(*calib);
      pp.quantize = add("quantize", fmt::format("{} {}-bit", p.str("quantization.method"), p.str("quantization.wbits")), a, {{"--out", ""}, {"--json", ".json"}}, ".json", deps,
                        quantize_cost(p, method_calib));
      model_task = pp.quantize;
      quantized_dir = plan.tasks[*pp.quantize].out;
      if (tweak) {
        std::map<std::string, std::string> set = {
            {"model_path", model}, {"quantized_dir", quantized_dir}, {"calib", calib_source}, {"heldout", "0"}};
        if (p.str("normtweak.backend") == "hw") set["hw"] = pp.hw_file;
        const std::vector<std::string> t = command("tweak", tweak::tweak_options(), ex, p, set);
        std::vector<std::size_t> tdeps = {*pp.quantize};
        if (calib) tdeps.push_back(*calib);
        pp.tweak = add("tweak", "norm tweak lr " + p.str("normtweak.lr"), t, {{"--out", ""}, {"--json", ".json"}}, ".json",
                       tdeps, 5.0 * tokens(p, "calibration.nsamples", "calibration.seqlen"));
        model_task = pp.tweak;
        quantized_dir = plan.tasks[*pp.tweak].out;
      }
    }

    const auto& datasets = ex.lists.at("datasets");
    for (std::size_t d = 0; d < datasets.size(); ++d) {
      // Every eval compares each token with the float model, whose distributions are cached once
      // per model and dataset in DIR/cache/float-reference; per-token losses go beside the result
      // so the point can pair two backends on the same tokens.
      auto eval = [&](const std::string& backend, const std::string& model_path, std::vector<std::size_t> deps) {
        std::map<std::string, std::string> set = {{"model_path", model_path}, {"dataset", datasets[d]}, {"backend", backend},
                                                  {"float_reference", (fs::path(dir) / "cache" / "float-reference").string()}};
        if (backend != "float" && backend != "fakequant") set["hw"] = pp.hw_file;
        return add("eval", "eval " + backend + " on " + fs::path(datasets[d]).filename().string(),
                   command("eval", eval::eval_options(), ex, p, set), {{"--json", ".json"}, {"--token-nll", ".nll.safetensors"}},
                   ".json", std::move(deps), eval_cost(p, backend));
      };
      std::vector<std::size_t> after = {};
      if (has("float")) {
        pp.evals.push_back({datasets[d], "float", false, eval("float", model, {})});
        after.push_back(pp.evals.back().task);  // its pass fills the float reference the others read
      }
      if (!quantized) continue;
      after.push_back(*model_task);
      if (has("fakequant")) pp.evals.push_back({datasets[d], "fakequant", false, eval("fakequant", quantized_dir, after)});
      if (chip) {
        // SystemC co-simulates on the first dataset only; that run also gives its hw numbers.
        const bool systemc = has("systemc") && d == 0;
        pp.evals.push_back({datasets[d], "hw", systemc, eval(systemc ? "systemc" : "hw", quantized_dir, after)});
      }
    }
    // Zero-shot tasks: the same backends (the hw run without co-simulation), no float reference.
    for (const std::string& file : ex.lists.at("tasks")) {
      auto eval = [&](const std::string& backend, const std::string& model_path, std::vector<std::size_t> deps) {
        std::map<std::string, std::string> set = {{"model_path", model_path}, {"task", file}, {"backend", backend}};
        if (backend == "hw") set["hw"] = pp.hw_file;
        return add("eval", "eval " + backend + " on task " + fs::path(file).filename().string(),
                   command("eval", eval::eval_options(), ex, p, set), {{"--json", ".json"}}, ".json", std::move(deps),
                   eval_cost(p, backend));
      };
      if (has("float")) pp.evals.push_back({file, "float", false, eval("float", model, {}), true});
      if (!quantized) continue;
      if (has("fakequant")) pp.evals.push_back({file, "fakequant", false, eval("fakequant", quantized_dir, {*model_task}), true});
      if (chip) pp.evals.push_back({file, "hw", false, eval("hw", quantized_dir, {*model_task}), true});
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

std::vector<std::size_t> start_order(const Plan& plan) {
  const std::size_t n = plan.tasks.size();
  // Dependencies come before dependants, so one backward pass finds every chain's length.
  std::vector<double> chain(n, 0.0);
  for (std::size_t t = n; t-- > 0;) {
    chain[t] += plan.tasks[t].cost;
    for (const std::size_t d : plan.tasks[t].deps) chain[d] = std::max(chain[d], chain[t]);
  }
  std::vector<std::size_t> order(n);
  for (std::size_t t = 0; t < n; ++t) order[t] = t;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return chain[a] > chain[b]; });
  return order;
}

}  // namespace oacim::sweep
