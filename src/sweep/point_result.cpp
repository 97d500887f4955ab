#include "oacim/sweep/point_result.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/statistics.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/core/token_values_file.hpp"
#include "oacim/hw/energy.hpp"
#include "oacim/hw/energy_json.hpp"

namespace oacim::sweep {

namespace {

using nlohmann::json;

json read_json(const std::string& path) {
  try {
    return json::parse(read_whole_file(path));
  } catch (const json::exception& e) {
    throw FormatError(path, std::string("not a JSON result: ") + e.what());
  }
}

json eval_numbers(const json& e) {
  const json& ppl = e.at("perplexity");
  if (!ppl.is_number() || !std::isfinite(ppl.get<double>())) {
    throw Error(fmt::format("an eval result holds the perplexity {}, not a finite number", ppl.dump()));
  }
  json out = {{"perplexity", e.at("perplexity")}, {"mean_nll", e.at("mean_nll")}, {"tokens", e.at("tokens")},
              {"windows", e.at("windows")},       {"seqlen", e.at("seqlen")},     {"seconds", e.at("seconds")}};
  if (e.contains("hw_counters")) out["counters"] = e.at("hw_counters");
  if (e.contains("perplexity_se")) out["perplexity_se"] = e.at("perplexity_se");
  if (e.contains("vs_float")) {
    const json& v = e.at("vs_float");
    out["vs_float"] = json::object();
    for (const char* k : {"basis", "tokens", "kld_mean", "kld_se", "kld_median", "kld_p99", "kld_max", "top1_agreement_pct",
                          "top1_agreement_se_pct", "delta_p_rms", "ppl_pct", "ppl_pct_ci95"}) {
      out["vs_float"][k] = v.at(k);
    }
  }
  return out;
}

// The paired perplexity change of `b` over `a` on the same tokens (their per-token loss files),
// with its 95 % interval; null when either run wrote none.
json paired_change(const json& a, const json& b) {
  if (!a.contains("token_nll_file") || !b.contains("token_nll_file")) return json();
  const TokenValues ta = read_token_values(a.at("token_nll_file").get<std::string>());
  const TokenValues tb = read_token_values(b.at("token_nll_file").get<std::string>());
  const PairedDifference d = paired_difference(ta.values, tb.values);
  return {{"tokens", ta.values.size()}, {"nll_diff_mean", d.difference.mean}, {"nll_diff_se", d.difference.se},
          {"ppl_pct", d.ppl_pct},       {"ppl_pct_ci95", {d.ppl_pct_low, d.ppl_pct_high}}};
}

// The prices an eval result's energy section was computed with (null = not configured).
hw::EnergyPrices energy_prices(const json& energy) {
  hw::EnergyPrices prices;
  for (const hw::EnergyEvent& ev : hw::energy_events()) {
    for (const json& e : energy.at("events")) {
      if (e.at("event") == ev.name && !e.at("pj_per_event").is_null()) prices.*ev.price = e.at("pj_per_event").get<double>();
    }
  }
  return prices;
}

json quantization_numbers(const json& q) {
  json layers = json::array();
  for (const json& l : q.at("layers")) {
    layers.push_back({{"layer", l.at("layer")},
                      {"rows", l.at("rows")},
                      {"cols", l.at("cols")},
                      {"output_error", l.value("output_error", json())},
                      {"weight_rel_error", l.at("weight_rel_error")},
                      {"outliers", l.at("outliers")},
                      {"ones", l.at("ones")},
                      {"ones_before_offsets", l.at("ones_before_offsets")},
                      {"stored_bits", l.at("stored_bits")}});
  }
  return {{"seconds", q.at("seconds")},
          {"windows", q.at("windows")},
          {"outliers", q.at("outliers")},
          {"ones", q.at("ones")},
          {"ones_before_offsets", q.at("ones_before_offsets")},
          {"stored_bits", q.at("stored_bits")},
          {"bits_per_weight", q.at("bits_per_weight")},
          {"layers", layers}};
}

json verdict(const std::string& check, const std::string& dataset, const json& limit, const json& value,
             const std::string& status) {
  return {{"check", check}, {"dataset", dataset}, {"limit", limit}, {"value", value}, {"status", status}};
}

// One verdict per item (dataset or task file) for the threshold `key` unless it is off: the item's
// value against the limit, an upper bound when `at_most`, else a lower one; n/a without a value.
template <class ValueOf>
void check_each(json& out, const SweepPoint& p, const std::string& key, bool at_most, const json& items,
                const char* name_key, const ValueOf& value_of) {
  if (p.off(key)) return;
  const double limit = p.number(key);
  const std::string check = key.substr(std::string("thresholds.").size());
  for (const json& item : items) {
    const std::optional<double> v = value_of(item);
    if (!v) {
      out.push_back(verdict(check, item.at(name_key), limit, json(), "n/a"));
      continue;
    }
    const bool pass = at_most ? *v <= limit : *v >= limit;
    out.push_back(verdict(check, item.at(name_key), limit, *v, pass ? "pass" : "fail"));
  }
}

}  // namespace

json point_verdicts(const json& point, const SweepPoint& p) {
  json out = json::array();
  const json& datasets = point.at("datasets");
  using Value = std::optional<double>;
  // Perplexity ratios, per dataset.
  const auto ratio = [](const char* num, const char* den) {
    return [num, den](const json& d) -> Value {
      if (!d.contains(num) || !d.contains(den)) return std::nullopt;
      return 100.0 * (d.at(num).at("perplexity").get<double>() / d.at(den).at("perplexity").get<double>() - 1.0);
    };
  };
  check_each(out, p, "thresholds.hw_vs_fakequant_ppl_pct", true, datasets, "name", ratio("hw", "fakequant"));
  check_each(out, p, "thresholds.fakequant_vs_float_ppl_pct", true, datasets, "name", ratio("fakequant", "float"));
  check_each(out, p, "thresholds.hw_vs_float_ppl_pct", true, datasets, "name", ratio("hw", "float"));
  // The same ratio with confidence: fail only when the whole 95 % interval lies above the limit.
  check_each(out, p, "thresholds.hw_vs_fakequant_ppl_pct_ci95", true, datasets, "name", [](const json& d) -> Value {
    if (!d.contains("hw_vs_fakequant")) return std::nullopt;
    return d.at("hw_vs_fakequant").at("ppl_pct_ci95").at(0).get<double>();
  });
  // Agreement with the float model, per dataset: mean KL divergence at most, top-1 agreement at least.
  const auto vs_float = [](const char* backend, const char* field) {
    return [backend, field](const json& d) -> Value {
      if (!d.contains(backend) || !d.at(backend).contains("vs_float")) return std::nullopt;
      return d.at(backend).at("vs_float").at(field).get<double>();
    };
  };
  check_each(out, p, "thresholds.hw_max_mean_kld", true, datasets, "name", vs_float("hw", "kld_mean"));
  check_each(out, p, "thresholds.fakequant_max_mean_kld", true, datasets, "name", vs_float("fakequant", "kld_mean"));
  check_each(out, p, "thresholds.hw_min_top1_agreement_pct", false, datasets, "name", vs_float("hw", "top1_agreement_pct"));
  // Zero-shot tasks: the smallest drop the 95 % interval allows (a few documents' noise never fails a point).
  const json& tasks = point.contains("zero_shot") ? point.at("zero_shot") : json::array();
  check_each(out, p, "thresholds.hw_vs_float_acc_drop_pts", true, tasks, "file", [](const json& t) -> Value {
    if (!t.contains("hw_vs_float_acc_pts")) return std::nullopt;
    return 0.0 - t.at("hw_vs_float_acc_pts").at("ci95").at(1).get<double>();
  });
  if (!p.off("thresholds.max_overflows")) {
    const double limit = p.number("thresholds.max_overflows");
    if (point.contains("hw_counters") && !point.at("hw_counters").is_null()) {
      const json& c = point.at("hw_counters");
      const long long n = c.at("tree_overflows").get<long long>() + c.at("acc_overflows").get<long long>();
      out.push_back(verdict("max_overflows", "", limit, n, static_cast<double>(n) <= limit ? "pass" : "fail"));
    } else {
      out.push_back(verdict("max_overflows", "", limit, json(), "n/a"));
    }
  }
  if (!p.off("thresholds.max_energy_pj_per_token")) {
    const double limit = p.number("thresholds.max_energy_pj_per_token");
    if (point.contains("energy") && !point.at("energy").is_null()) {
      const json& e = point.at("energy");
      const double v = e.at("pj_per_token").get<double>();
      const char* status = v > limit ? "fail" : e.at("complete").get<bool>() ? "pass" : "n/a";
      out.push_back(verdict("max_energy_pj_per_token", "", limit, v, status));
    } else {
      out.push_back(verdict("max_energy_pj_per_token", "", limit, json(), "n/a"));
    }
  }
  if (p.flag("thresholds.systemc_bit_exact")) {
    if (point.contains("systemc") && !point.at("systemc").is_null()) {
      const bool exact = point.at("systemc").at("bit_exact").get<bool>();
      out.push_back(verdict("systemc_bit_exact", point.at("systemc").at("dataset"), true, exact, exact ? "pass" : "fail"));
    } else {
      out.push_back(verdict("systemc_bit_exact", "", true, json(), "n/a"));
    }
  }
  return out;
}

namespace {

// The zero-shot tasks of a point: accuracy per backend, and hw against float paired document by
// document (percentage points, with a 95 % interval).
json zero_shot_results(const Plan& plan, const PointPlan& pp) {
  json out = json::array();
  std::vector<std::string> files;
  for (const auto& e : pp.evals) {
    if (e.zero_shot && std::find(files.begin(), files.end(), e.dataset) == files.end()) files.push_back(e.dataset);
  }
  for (const std::string& file : files) {
    json t = {{"file", file}};
    std::map<std::string, std::vector<float>> correct;
    for (const auto& e : pp.evals) {
      if (!e.zero_shot || e.dataset != file) continue;
      const json task = read_json(plan.tasks[e.task].done_file).at("task");
      t["name"] = task.at("name");
      t["kind"] = task.at("kind");
      t["documents"] = task.at("documents");
      json b = {{"acc", task.at("acc")}, {"acc_se", task.at("acc_se")}};
      for (const char* k : {"acc_norm", "acc_norm_se", "perplexity"}) {
        if (task.contains(k)) b[k] = task.at(k);
      }
      t[e.backend] = b;
      correct[e.backend] = task.at("correct").get<std::vector<float>>();
    }
    if (correct.count("hw") && correct.count("float")) {
      const PairedDifference d = paired_difference(correct.at("float"), correct.at("hw"));
      t["hw_vs_float_acc_pts"] = {{"mean", 100.0 * d.difference.mean}, {"ci95", {100.0 * d.low, 100.0 * d.high}}};
    }
    out.push_back(t);
  }
  return out;
}

// Fills the point from its tasks' result files (quantization, tweak, each dataset and backend,
// counters, SystemC checks) and its verdicts. Throws when a file is missing or malformed.
void add_task_results(const Plan& plan, const PointPlan& pp, json& point) {
  if (pp.quantize) point["quantization"] = quantization_numbers(read_json(plan.tasks[*pp.quantize].done_file));
  if (pp.tweak) {
    const json t = read_json(plan.tasks[*pp.tweak].done_file);
    const json& best = t.at("points").at(t.at("best").get<std::size_t>());
    point["tweak"] = {{"lr", best.at("lr")}, {"scale", best.at("scale")}, {"seconds", t.at("seconds")}};
  }
  std::vector<std::string> names;  // the datasets, in the plan's order
  for (const auto& e : pp.evals) {
    if (!e.zero_shot && std::find(names.begin(), names.end(), e.dataset) == names.end()) names.push_back(e.dataset);
  }
  json counters;
  std::optional<hw::EnergyPrices> prices;  // the hw runs' table (one hardware config per point)
  double clock_mhz = 0;
  std::int64_t model_tokens = 0;
  std::vector<std::pair<std::string, hw::HwCounters>> chip_layers;  // per chip Linear, summed over datasets
  for (const auto& name : names) {
    json d = {{"name", name}};
    std::map<std::string, json> runs;
    for (const auto& e : pp.evals) {
      if (e.zero_shot || e.dataset != name) continue;
      const json r = read_json(plan.tasks[e.task].done_file);
      runs[e.backend] = r;
      d[e.backend] = eval_numbers(r);
      if (e.backend == "hw" && r.contains("hw_counters")) {
        if (r.contains("energy")) {
          if (!prices) prices = energy_prices(r.at("energy"));
          clock_mhz = r.at("latency").at("clock_mhz").get<double>();
          model_tokens += r.at("energy").at("model_tokens").get<std::int64_t>();
        }
        if (r.contains("hw_layers")) {
          for (const json& l : r.at("hw_layers")) {
            const std::string layer = l.at("layer");
            auto at = std::find_if(chip_layers.begin(), chip_layers.end(), [&](const auto& x) { return x.first == layer; });
            if (at == chip_layers.end()) at = chip_layers.insert(chip_layers.end(), {layer, hw::HwCounters{}});
            at->second += hw::counters_from_json(l.at("counters"));
          }
        }
        if (counters.is_null()) {
          counters = r.at("hw_counters");
        } else {
          for (auto& [k, v] : counters.items()) {
            // Weight ones/bits describe the stored model, not events: the same for every dataset.
            if (k != "weight_ones" && k != "weight_bits") v = v.get<long long>() + r.at("hw_counters").at(k).get<long long>();
          }
        }
      }
      if (e.systemc) {
        const json& s = r.at("systemc");
        json layers = json::array();
        for (const json& l : s.at("layers")) {
          layers.push_back({{"layer", l.at("layer")},
                            {"rows", l.at("rows")},
                            {"cols", l.at("cols")},
                            {"tokens", l.at("tokens")},
                            {"accepted", l.at("accepted")},
                            {"error", l.at("error")},
                            {"bit_exact", l.at("bit_exact")},
                            {"mismatches", l.at("mismatches")},
                            {"max_ulp", l.at("max_ulp")},
                            {"load_cycles", l.at("load_cycles")},
                            {"compute_cycles", l.at("compute_cycles")},
                            {"readback_cycles", l.at("readback_cycles")}});
        }
        point["systemc"] = {{"dataset", name}, {"bit_exact", s.at("bit_exact")}, {"layers", layers}};
      }
    }
    if (runs.count("hw") && runs.count("fakequant")) {
      const json change = paired_change(runs.at("fakequant"), runs.at("hw"));
      if (!change.is_null()) d["hw_vs_fakequant"] = change;
    }
    point["datasets"].push_back(d);
  }
  point["hw_counters"] = counters;
  if (!counters.is_null() && prices) {
    point["energy"] = hw::energy_json(hw::counters_from_json(counters), *prices, model_tokens);
    point["latency"] = hw::latency_json(hw::counters_from_json(counters), clock_mhz, model_tokens);
    json by_layer = json::array();
    for (const auto& [layer, c] : chip_layers) {
      const hw::EnergyBreakdown e = hw::energy_of(c, *prices, model_tokens);
      by_layer.push_back({{"layer", layer},
                          {"pj_per_token", e.pj_per_token()},
                          {"complete", e.complete()},
                          {"cell_activations", c.cell_activations},
                          {"cycles", c.cycles}});
    }
    point["energy_by_layer"] = by_layer;
  }
  point["zero_shot"] = zero_shot_results(plan, pp);
  point["verdicts"] = point_verdicts(point, pp.point);
  bool fail = false;
  for (const json& v : point["verdicts"]) fail = fail || v.at("status") == "fail";
  point["verdict"] = fail ? "fail" : "pass";
}

}  // namespace

json point_result(const Plan& plan, const PointPlan& pp, const std::string& failed_task_reason) {
  json point = {{"id", pp.id},
                {"index", pp.point.index},
                {"label", pp.point.label()},
                {"settings", pp.point.settings},
                {"status", "ok"},
                {"error", ""},
                {"hw_config", pp.hw_file.empty() ? json() : json{{"name", pp.hw_name}, {"file", pp.hw_file}}},
                {"quantization", json()},
                {"tweak", json()},
                {"datasets", json::array()},
                {"hw_counters", json()},
                {"energy", json()},
                {"latency", json()},
                {"energy_by_layer", json::array()},
                {"systemc", json()},
                {"zero_shot", json::array()},
                {"verdicts", json::array()},
                {"verdict", "error"}};
  json tasks = json::array();
  for (const std::size_t t : pp.tasks) tasks.push_back(plan.tasks[t].id);
  point["tasks"] = tasks;
  if (!failed_task_reason.empty()) {
    point["status"] = "error";
    point["error"] = failed_task_reason;
    return point;
  }
  try {
    add_task_results(plan, pp, point);
  } catch (const std::exception& e) {
    // A result that cannot be read makes an error point; the sweep and its report go on.
    point["status"] = "error";
    point["error"] = fmt::format("a task's result cannot be used: {}", e.what());
    point["verdict"] = "error";
    point["verdicts"] = json::array();
  }
  return point;
}

}  // namespace oacim::sweep
