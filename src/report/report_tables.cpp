#include "report_tables.hpp"

#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>

namespace oacim::report {

using nlohmann::json;

namespace {

std::string fixed(double v, int digits) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "-"; }
std::string signed_pct(double v) { return std::isfinite(v) ? fmt::format("{:+.2f} %", v) : "-"; }
std::string pct_of(double part, double whole) { return whole > 0 ? fmt::format("{:.2f} %", 100.0 * part / whole) : "-"; }

std::string point_name(const json& p) { return fmt::format("{}", p.at("index").get<int>() + 1); }

std::string limit_text(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "required" : "-";
  if (v.is_number()) return fmt::format("{:g}", v.get<double>());
  return "-";
}

std::string value_text(const std::string& check, const json& v) {
  if (v.is_null()) return "-";
  if (v.is_boolean()) return v.get<bool>() ? "bit-exact" : "MISMATCH";
  if (check.find("kld") != std::string::npos) return fixed(v.get<double>(), 5);
  if (check.find("top1") != std::string::npos) return fixed(v.get<double>(), 2) + " %";
  if (check.find("_pts") != std::string::npos) return fmt::format("{:+.2f} pts", v.get<double>());
  if (check.find("_pct") != std::string::npos) return signed_pct(v.get<double>());
  return fmt::format("{}", v.get<long long>());
}

std::string status_text(const std::string& s) {
  if (s == "pass") return "pass";
  if (s == "fail") return "**FAIL**";
  return s;
}

}  // namespace

double number_or_nan(const json& v) { return v.is_number() ? v.get<double>() : NAN; }

std::string dataset_label(const std::string& dataset) {
  if (dataset.find('/') == std::string::npos && dataset.find('.') == std::string::npos) return dataset;
  return std::filesystem::path(dataset).stem().string();
}

const json* backend_result(const json& point, const std::string& dataset, const std::string& backend) {
  if (!point.contains("datasets")) return nullptr;
  for (const json& d : point.at("datasets")) {
    if (d.at("name") == dataset && d.contains(backend)) return &d.at(backend);
  }
  return nullptr;
}

std::string overall_verdict(const json& r) {
  const std::string v = r.value("verdict", "incomplete");
  std::string up = v;
  for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return up;
}

std::string summary_line(const json& r) {
  const json& s = r.at("summary");
  std::string line = fmt::format("{} points: {} pass, {} fail, {} error", s.at("points").get<int>(),
                                 s.at("pass").get<int>(), s.at("fail").get<int>(), s.at("error").get<int>());
  if (s.at("pending").get<int>() > 0) line += fmt::format(", {} not run yet", s.at("pending").get<int>());
  return line;
}

std::vector<std::pair<std::string, std::string>> run_facts(const json& r) {
  const json& e = r.at("experiment");
  const json& m = r.at("machine");
  std::vector<std::string> datasets;
  for (const auto& d : e.at("datasets")) datasets.push_back(d.get<std::string>());
  std::vector<std::string> backends = e.at("backends").get<std::vector<std::string>>();
  std::vector<std::string> swept = e.at("swept").get<std::vector<std::string>>();
  return {{"experiment", e.at("file").get<std::string>()},
          {"model", e.at("model").get<std::string>()},
          {"datasets", fmt::format("{}", fmt::join(datasets, ", "))},
          {"backends", fmt::format("{}", fmt::join(backends, ", "))},
          {"swept", swept.empty() ? std::string("nothing (one point)") : fmt::format("{}", fmt::join(swept, ", "))},
          {"tool", fmt::format("oacim {} (commit {})", r.at("tool").at("version").get<std::string>(),
                               r.at("tool").at("commit").get<std::string>())},
          {"machine", fmt::format("{}, {} cores, {} GiB, {}", m.at("cpu").get<std::string>(), m.at("cores").get<int>(),
                                  m.at("memory_gib").get<double>(), m.at("os").get<std::string>())},
          {"started", r.at("started").get<std::string>()}};
}

std::vector<std::string> point_errors(const json& r) {
  std::vector<std::string> out;
  for (const json& p : r.at("points")) {
    if (p.at("status") != "ok") {
      out.push_back(fmt::format("point {} ({}): {}", point_name(p), p.at("label").get<std::string>(),
                                p.at("error").get<std::string>()));
    }
  }
  return out;
}

namespace {

// Token-level agreement of the quantized backends with the float model on one dataset.
Section agreement_section(const json& points, const std::string& d) {
  Section s;
  s.title = "Agreement with the float model: " + dataset_label(d);
  s.text = "Per predicted token, KL(float || backend) in nats (mean ± standard error, 99th percentile, maximum), "
           "how often the top-1 tokens agree, and the RMS change of the correct token's probability.";
  s.table.headers = {"#", "point", "fakequant KLD", "fakequant top-1", "hw KLD", "hw KLD p99", "hw KLD max", "hw top-1",
                     "hw RMS Δp", "basis"};
  s.table.numeric = {true, false, true, true, true, true, true, true, true, false};
  s.plot = "kld:" + d;
  for (const json& p : points) {
    if (p.at("status") != "ok") continue;
    const json* q = backend_result(p, d, "fakequant");
    const json* h = backend_result(p, d, "hw");
    const json* qv = q && q->contains("vs_float") ? &q->at("vs_float") : nullptr;
    const json* hv = h && h->contains("vs_float") ? &h->at("vs_float") : nullptr;
    if (!qv && !hv) continue;
    auto kld = [](const json* v) {
      return v ? fmt::format("{:.5f} ± {:.5f}", v->at("kld_mean").get<double>(), v->at("kld_se").get<double>()) : "-";
    };
    auto num = [](const json* v, const char* k, int digits, double scale = 1.0) {
      return v ? fixed(scale * v->at(k).get<double>(), digits) : "-";
    };
    auto top1 = [](const json* v) {
      return v ? fmt::format("{:.2f} ± {:.2f} %", v->at("top1_agreement_pct").get<double>(),
                             v->at("top1_agreement_se_pct").get<double>())
               : "-";
    };
    s.table.rows.push_back({point_name(p), p.at("label"), kld(qv), top1(qv), kld(hv), num(hv, "kld_p99", 4),
                            num(hv, "kld_max", 3), top1(hv), hv ? num(hv, "delta_p_rms", 2, 100.0) + " %" : "-",
                            (hv ? hv : qv)->at("basis").get<std::string>()});
  }
  return s;
}

// Zero-shot tasks: accuracy per backend and hw against float, per point and task file.
Section zero_shot_section(const json& points) {
  Section s;
  s.title = "Zero-shot tasks";
  s.text = "Accuracy (± standard error) by log-likelihood as lm-evaluation-harness scores it; acc_norm divides by the "
           "choice's bytes; last-word tasks count greedy matches. hw vs float pairs the two runs document by document "
           "(percentage points, 95 % interval).";
  s.table.headers = {"#", "point", "task", "documents", "float acc", "fakequant acc", "hw acc", "hw acc_norm",
                     "hw vs float", "hw vs float 95 % CI"};
  s.table.numeric = {true, false, false, true, true, true, true, true, true, true};
  for (const json& p : points) {
    if (p.at("status") != "ok" || !p.contains("zero_shot")) continue;
    for (const json& t : p.at("zero_shot")) {
      auto acc = [&](const char* b, const char* k = "acc") {
        if (!t.contains(b) || !t.at(b).contains(k)) return std::string("-");
        return fmt::format("{:.2f} ± {:.2f} %", 100.0 * t.at(b).at(k).get<double>(),
                           100.0 * t.at(b).at(std::string(k) + "_se").get<double>());
      };
      const json* d = t.contains("hw_vs_float_acc_pts") ? &t.at("hw_vs_float_acc_pts") : nullptr;
      s.table.rows.push_back({point_name(p), p.at("label"), t.at("name").get<std::string>(),
                              std::to_string(t.at("documents").get<long long>()), acc("float"), acc("fakequant"),
                              acc("hw"), acc("hw", "acc_norm"),
                              d ? fmt::format("{:+.2f} pts", d->at("mean").get<double>()) : "-",
                              d ? fmt::format("{:+.2f} .. {:+.2f}", d->at("ci95").at(0).get<double>(),
                                              d->at("ci95").at(1).get<double>())
                                : "-"});
    }
  }
  return s;
}

}  // namespace

std::vector<Section> report_sections(const json& r) {
  std::vector<Section> sections;
  const json& points = r.at("points");
  // Thresholds: one row per check (and dataset), counting points.
  {
    Section s;
    s.title = "Sign-off thresholds";
    s.text = "Each check on every point; the worst value is the one closest to failing.";
    s.table.headers = {"check", "dataset", "limit", "pass", "fail", "n/a", "worst value", "worst point"};
    s.table.numeric = {false, false, true, true, true, true, true, false};
    struct Row {
      std::string check, dataset, limit;
      int pass = 0, fail = 0, na = 0;
      double worst = -INFINITY;
      std::string worst_text = "-", worst_point = "-";
    };
    std::vector<Row> rows;
    for (const json& p : points) {
      for (const json& v : p.at("verdicts")) {
        const std::string check = v.at("check"), dataset = dataset_label(v.at("dataset").get<std::string>());
        auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& x) { return x.check == check && x.dataset == dataset; });
        if (it == rows.end()) {
          rows.push_back({check, dataset, limit_text(v.at("limit"))});
          it = rows.end() - 1;
        }
        const std::string st = v.at("status");
        (st == "pass" ? it->pass : st == "fail" ? it->fail : it->na)++;
        const json& val = v.at("value");
        double score = val.is_boolean() ? (val.get<bool>() ? 0.0 : 1.0) : val.is_number() ? val.get<double>() : NAN;
        if (check.find("_min_") != std::string::npos) score = -score;  // a lower bound: the smallest is the worst
        if (std::isfinite(score) && score > it->worst) {
          it->worst = score;
          it->worst_text = value_text(check, val);
          it->worst_point = point_name(p);
        }
      }
    }
    for (const Row& x : rows) {
      s.table.rows.push_back({x.check, x.dataset.empty() ? "-" : x.dataset, x.limit, std::to_string(x.pass),
                              x.fail ? "**" + std::to_string(x.fail) + "**" : "0", std::to_string(x.na), x.worst_text,
                              x.worst_point});
    }
    sections.push_back(std::move(s));
  }
  // Points: settings and verdict.
  {
    Section s;
    s.title = "Points";
    s.text = "The settings that vary across the sweep, the hardware config and each point's verdict.";
    s.table.headers = {"#", "point", "hardware", "verdict", "failed checks"};
    s.table.numeric = {true, false, false, false, false};
    for (const json& p : points) {
      std::vector<std::string> failed;
      for (const json& v : p.at("verdicts")) {
        if (v.at("status") == "fail") {
          const std::string d = dataset_label(v.at("dataset").get<std::string>());
          failed.push_back(v.at("check").get<std::string>() + (d.empty() ? "" : " (" + d + ")"));
        }
      }
      const std::string hw = p.at("hw_config").is_null() ? "-" : p.at("hw_config").at("name").get<std::string>();
      s.table.rows.push_back({point_name(p), p.at("label"), hw,
                              p.at("status") != "ok" ? "**ERROR**" : status_text(p.at("verdict")),
                              failed.empty() ? "-" : fmt::format("{}", fmt::join(failed, ", "))});
    }
    sections.push_back(std::move(s));
  }
  // Perplexity per dataset.
  for (const auto& dj : r.at("experiment").at("datasets")) {
    const std::string d = dj.get<std::string>();
    Section s;
    s.title = "Perplexity: " + dataset_label(d);
    s.text = fmt::format("Dataset {}. hw is the bit-accurate datapath; differences are relative perplexity changes.", d);
    s.text += " Perplexities with their standard error; the 95 % interval of hw vs fakequant pairs the two runs "
              "token by token (docs/signoff.md).";
    s.table.headers = {"#", "point", "float", "fakequant", "hw", "fakequant vs float", "hw vs fakequant",
                       "hw vs fakequant 95 % CI", "tokens"};
    s.table.numeric = {true, false, true, true, true, true, true, true, true};
    s.plot = "ppl:" + d;
    for (const json& p : points) {
      if (p.at("status") != "ok") continue;
      const json* f = backend_result(p, d, "float");
      const json* q = backend_result(p, d, "fakequant");
      const json* h = backend_result(p, d, "hw");
      const json* paired = backend_result(p, d, "hw_vs_fakequant");
      auto ppl = [](const json* x) { return x ? x->at("perplexity").get<double>() : NAN; };
      auto ppl_se = [&](const json* x) {
        if (!x || !x->contains("perplexity_se")) return fixed(ppl(x), 4);
        return fmt::format("{:.4f} ± {:.4f}", ppl(x), x->at("perplexity_se").get<double>());
      };
      const json* any = f ? f : q ? q : h;
      s.table.rows.push_back({point_name(p), p.at("label"), ppl_se(f), ppl_se(q), ppl_se(h),
                              signed_pct(100.0 * (ppl(q) / ppl(f) - 1.0)), signed_pct(100.0 * (ppl(h) / ppl(q) - 1.0)),
                              paired ? fmt::format("{:+.3f} .. {:+.3f} %", paired->at("ppl_pct_ci95").at(0).get<double>(),
                                                   paired->at("ppl_pct_ci95").at(1).get<double>())
                                     : "-",
                              any ? std::to_string(any->at("tokens").get<long long>()) : "-"});
    }
    sections.push_back(std::move(s));
    if (Section a = agreement_section(points, d); !a.table.rows.empty()) sections.push_back(std::move(a));
  }
  if (Section z = zero_shot_section(points); !z.table.rows.empty()) sections.push_back(std::move(z));
  // Hardware counters and co-simulation.
  {
    Section s;
    s.title = "Hardware";
    s.text = "Datapath event counters summed over the hw evaluations of every dataset; co-simulation of the sampled layers "
             "in SystemC against the hw model, with the compute cycles the SystemC model spent on them.";
    s.table.headers = {"#", "point", "MACs", "tree overflows", "acc overflows", "outlier hits", "flushed inputs",
                       "weight ones", "co-sim", "co-sim layers", "compute cycles"};
    s.table.numeric = {true, false, true, true, true, true, true, true, false, true, true};
    for (const json& p : points) {
      if (p.at("status") != "ok" || p.at("hw_counters").is_null()) continue;
      const json& c = p.at("hw_counters");
      std::string cosim = "-", layers = "-", cycles = "-";
      if (!p.at("systemc").is_null()) {
        const json& sc = p.at("systemc");
        cosim = sc.at("bit_exact").get<bool>() ? "bit-exact" : "**MISMATCH**";
        long long cyc = 0;
        for (const json& l : sc.at("layers")) cyc += l.at("compute_cycles").get<long long>();
        layers = std::to_string(sc.at("layers").size());
        cycles = std::to_string(cyc);
      }
      s.table.rows.push_back({point_name(p), p.at("label"), std::to_string(c.at("macs").get<long long>()),
                              std::to_string(c.at("tree_overflows").get<long long>()),
                              std::to_string(c.at("acc_overflows").get<long long>()),
                              std::to_string(c.at("outlier_hits").get<long long>()),
                              std::to_string(c.at("inputs_flushed").get<long long>()),
                              pct_of(c.at("weight_ones").get<double>(), c.at("weight_bits").get<double>()), cosim,
                              layers, cycles});
    }
    if (!s.table.rows.empty()) sections.push_back(std::move(s));
  }
  if (Section e = energy_section(r); !e.table.rows.empty()) sections.push_back(std::move(e));
  // Quantization totals.
  {
    Section s;
    s.title = "Quantization";
    s.text = "Stored weights: bits per weight with scales, zeros, offsets and outlier indices; share of 1 bits in the "
             "stored words before and after the column offsets; mean Hessian-weighted output error over the Linears.";
    s.table.headers = {"#", "point", "bits/weight", "outliers", "ones", "ones before offsets", "mean output error",
                       "seconds"};
    s.table.numeric = {true, false, true, true, true, true, true, true};
    s.plot = "layers";
    for (const json& p : points) {
      if (p.at("status") != "ok" || p.at("quantization").is_null()) continue;
      const json& q = p.at("quantization");
      double err = 0;
      int n = 0;
      for (const json& l : q.at("layers")) {
        if (l.at("output_error").is_number()) {
          err += l.at("output_error").get<double>();
          ++n;
        }
      }
      s.table.rows.push_back({point_name(p), p.at("label"), fixed(q.at("bits_per_weight").get<double>(), 3),
                              std::to_string(q.at("outliers").get<long long>()),
                              pct_of(q.at("ones").get<double>(), q.at("stored_bits").get<double>()),
                              pct_of(q.at("ones_before_offsets").get<double>(), q.at("stored_bits").get<double>()),
                              n ? fmt::format("{:.4g}", err / n) : "- (no Hessian)", fixed(q.at("seconds").get<double>(), 1)});
    }
    if (!s.table.rows.empty()) sections.push_back(std::move(s));
  }
  return sections;
}

}  // namespace oacim::report
