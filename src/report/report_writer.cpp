#include "oacim/report/report_writer.hpp"

#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/report/svg_plot.hpp"
#include "report_tables.hpp"

namespace oacim::report {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string num_text(const json* x, const char* key) {
  if (!x || !x->contains(key) || !x->at(key).is_number()) return "";
  return fmt::format("{:.6g}", x->at(key).get<double>());
}

std::string markdown_table(const Table& t) {
  std::string md = "| " + fmt::format("{}", fmt::join(t.headers, " | ")) + " |\n|";
  for (std::size_t i = 0; i < t.headers.size(); ++i) md += i < t.numeric.size() && t.numeric[i] ? "---:|" : "---|";
  md += "\n";
  for (const auto& row : t.rows) md += "| " + fmt::format("{}", fmt::join(row, " | ")) + " |\n";
  return md;
}

// Markdown's **x** as <strong>, everything else escaped.
std::string html_cell(const std::string& text) {
  if (text.size() > 4 && text.rfind("**", 0) == 0 && text.substr(text.size() - 2) == "**") {
    return "<strong class=\"bad\">" + html_escape(text.substr(2, text.size() - 4)) + "</strong>";
  }
  if (text == "pass" || text == "bit-exact") return "<span class=\"good\">" + html_escape(text) + "</span>";
  return html_escape(text);
}

std::string html_table(const Table& t) {
  std::string h = "<table>\n<thead><tr>";
  for (std::size_t i = 0; i < t.headers.size(); ++i) {
    h += fmt::format("<th{}>{}</th>", i < t.numeric.size() && t.numeric[i] ? " class=\"num\"" : "",
                     html_escape(t.headers[i]));
  }
  h += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    h += "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i) {
      h += fmt::format("<td{}>{}</td>", i < t.numeric.size() && t.numeric[i] ? " class=\"num\"" : "", html_cell(row[i]));
    }
    h += "</tr>\n";
  }
  return h + "</tbody>\n</table>\n";
}

// The label of a point's quantization: its swept quantization/calibration/tweak settings.
std::string quant_label(const json& results, const json& p) {
  std::vector<std::string> parts;
  for (const auto& k : results.at("experiment").at("swept")) {
    const std::string key = k.get<std::string>();
    if (key.rfind("quantization.", 0) && key.rfind("calibration.", 0) && key.rfind("normtweak.", 0) && key != "model") continue;
    parts.push_back(key.substr(key.find('.') + 1) + "=" + p.at("settings").at(key).get<std::string>());
  }
  return parts.empty() ? std::string("quantized") : fmt::format("{}", fmt::join(parts, " "));
}

// Points with distinct quantized models (the first point of each), in point order.
std::vector<const json*> distinct_quantizations(const json& results) {
  std::vector<const json*> out;
  std::vector<std::string> seen;
  for (const json& p : results.at("points")) {
    if (p.at("status") != "ok" || p.at("quantization").is_null()) continue;
    std::string model_task;
    for (const auto& t : p.at("tasks")) {
      const std::string id = t.get<std::string>();
      if (id.rfind("quantize-", 0) == 0 && model_task.empty()) model_task = id;
      if (id.rfind("tweak-", 0) == 0) model_task = id;
    }
    if (std::find(seen.begin(), seen.end(), model_task) != seen.end()) continue;
    seen.push_back(model_task);
    out.push_back(&p);
  }
  return out;
}

std::string ppl_plot(const json& r, const std::string& dataset) {
  BarChart c;
  c.title = "Perplexity on " + dataset_label(dataset) + " per point (lower is better; the axis starts at its lowest tick)";
  c.y_label = "perplexity";
  const char* backends[] = {"float", "fakequant", "hw"};
  for (int b = 0; b < 3; ++b) c.series.push_back({backends[b], kPalette[b], {}});
  double lo = INFINITY;
  for (const json& p : r.at("points")) {
    if (p.at("status") != "ok") continue;
    c.categories.push_back(fmt::format("point {}", p.at("index").get<int>() + 1));
    for (int b = 0; b < 3; ++b) {
      const json* x = backend_result(p, dataset, backends[b]);
      const double v = x ? x->at("perplexity").get<double>() : NAN;
      c.series[static_cast<std::size_t>(b)].values.push_back(v);
      if (std::isfinite(v)) lo = std::min(lo, v);
    }
  }
  c.y_min = std::isfinite(lo) ? std::floor(lo * 0.9) : 0.0;
  return svg_bar_chart(c);
}

std::string kld_plot(const json& r, const std::string& dataset) {
  BarChart c;
  c.title = "Mean KL divergence from the float model on " + dataset_label(dataset) + " per point (lower is better)";
  c.y_label = "KLD (nats/token)";
  const char* backends[] = {"fakequant", "hw"};
  for (int b = 0; b < 2; ++b) c.series.push_back({backends[b], kPalette[b + 1], {}});
  for (const json& p : r.at("points")) {
    if (p.at("status") != "ok") continue;
    c.categories.push_back(fmt::format("point {}", p.at("index").get<int>() + 1));
    for (int b = 0; b < 2; ++b) {
      const json* x = backend_result(p, dataset, backends[b]);
      c.series[static_cast<std::size_t>(b)].values.push_back(
          x && x->contains("vs_float") ? x->at("vs_float").at("kld_mean").get<double>() : NAN);
    }
  }
  return svg_bar_chart(c);
}

std::string layer_plots(const json& r) {
  const std::vector<const json*> quants = distinct_quantizations(r);
  if (quants.empty()) return "";
  std::vector<std::string> layers;
  for (const json& l : quants.front()->at("quantization").at("layers")) layers.push_back(l.at("layer"));
  BarChart rel;
  rel.title = "Per-layer weight error ||W - Q|| / ||W||";
  rel.y_label = "relative error";
  rel.categories = layers;
  BarChart err;
  err.title = "Per-layer output error tr(D H D^T) / tr(W H W^T) (methods with a Hessian)";
  err.y_label = "relative error";
  err.categories = layers;
  BarChart ones;
  ones.title = "Ones-count per layer: share of 1 bits in the stored words, with and without column offsets";
  ones.y_label = "% ones";
  ones.categories = layers;
  std::size_t colour = 0;
  bool have_before = false;
  for (const json* p : quants) {
    const json& ls = p->at("quantization").at("layers");
    if (ls.size() != layers.size()) continue;  // another model in the sweep: its own layers
    const std::string label = quant_label(r, *p);
    BarSeries w{label, kPalette[colour % 8], {}};
    BarSeries e{label, kPalette[colour % 8], {}};
    BarSeries o{label, kPalette[colour % 8], {}};
    BarSeries before{"without offsets (" + label + ")", "#bab0ac", {}};
    const bool offsets = p->at("settings").at("quantization.offsets") == "true";
    bool hessian = false;
    for (const json& l : ls) {
      w.values.push_back(l.at("weight_rel_error").get<double>());
      hessian = hessian || l.at("output_error").is_number();
      e.values.push_back(l.at("output_error").is_number() ? l.at("output_error").get<double>() : NAN);
      const double bits = l.at("stored_bits").get<double>();
      o.values.push_back(100.0 * l.at("ones").get<double>() / bits);
      before.values.push_back(100.0 * l.at("ones_before_offsets").get<double>() / bits);
    }
    rel.series.push_back(std::move(w));
    if (hessian) err.series.push_back(std::move(e));
    if (offsets && !have_before) {
      ones.series.push_back(std::move(before));
      have_before = true;
    }
    ones.series.push_back(std::move(o));
    if (++colour == 6) break;  // more settings than a chart can show apart: the tables have them all
  }
  double lowest = INFINITY;
  for (const auto& series : ones.series) {
    for (const double v : series.values) lowest = std::min(lowest, v);
  }
  if (std::isfinite(lowest)) ones.y_min = 10.0 * std::floor(lowest * 0.9 / 10.0);  // differences of a few percent show
  std::string svg = svg_bar_chart(rel);
  if (!err.series.empty()) svg += svg_bar_chart(err);
  return svg + svg_bar_chart(ones);
}

const char* kCss = R"(body{font-family:sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}
.verdict{display:inline-block;padding:8px 16px;border-radius:6px;font-size:20px;font-weight:bold;color:#fff}
.v-PASS{background:#2e7d32}.v-FAIL{background:#c62828}.v-ERROR{background:#c62828}.v-INCOMPLETE{background:#ef6c00}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f0f0f0}td.num,th.num{text-align:right}.bad{color:#c62828}.good{color:#2e7d32}
table.facts td:first-child{font-weight:bold;background:#fafafa}pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:12px}
svg{display:block;margin:8px 0}p.note{color:#555;font-size:13px})";

}  // namespace

std::string results_csv(const json& r) {
  std::vector<std::string> swept = r.at("experiment").at("swept").get<std::vector<std::string>>();
  std::string csv = "point,label,status,verdict";
  for (const auto& k : swept) csv += "," + csv_field(k);
  csv += ",dataset,float_ppl,fakequant_ppl,hw_ppl,hw_vs_fakequant_pct,hw_vs_fakequant_pct_ci95_low,"
         "hw_vs_fakequant_pct_ci95_high,fakequant_kld,hw_kld,hw_kld_se,hw_top1_pct,tree_overflows,acc_overflows,outlier_hits,"
         "systemc_bit_exact,bits_per_weight,ones_pct,error\n";
  for (const json& p : r.at("points")) {
    std::string head = fmt::format("{},{},{},{}", p.at("index").get<int>() + 1, csv_field(p.at("label")),
                                   p.at("status").get<std::string>(), p.at("verdict").get<std::string>());
    for (const auto& k : swept) head += "," + csv_field(p.at("settings").at(k).get<std::string>());
    const json& c = p.at("hw_counters");
    const json& q = p.at("quantization");
    const std::string tail = fmt::format(
        ",{},{},{},{},{},{},{}", c.is_null() ? "" : std::to_string(c.at("tree_overflows").get<long long>()),
        c.is_null() ? "" : std::to_string(c.at("acc_overflows").get<long long>()),
        c.is_null() ? "" : std::to_string(c.at("outlier_hits").get<long long>()),
        p.at("systemc").is_null() ? "" : (p.at("systemc").at("bit_exact").get<bool>() ? "true" : "false"),
        q.is_null() ? "" : fmt::format("{:.6g}", q.at("bits_per_weight").get<double>()),
        q.is_null() ? "" : fmt::format("{:.4f}", 100.0 * q.at("ones").get<double>() / q.at("stored_bits").get<double>()),
        csv_field(p.at("error").get<std::string>()));
    for (const auto& dj : r.at("experiment").at("datasets")) {
      const std::string d = dj.get<std::string>();
      const json* f = backend_result(p, d, "float");
      const json* fq = backend_result(p, d, "fakequant");
      const json* h = backend_result(p, d, "hw");
      std::string delta;
      if (fq && h) {
        delta = fmt::format("{:.6g}", 100.0 * (h->at("perplexity").get<double>() / fq->at("perplexity").get<double>() - 1));
      }
      const json* paired = backend_result(p, d, "hw_vs_fakequant");
      const auto ci = [&](int end) {
        return paired ? fmt::format("{:.6g}", paired->at("ppl_pct_ci95").at(end).get<double>()) : std::string();
      };
      const auto vs_float = [](const json* x, const char* k) {
        return x && x->contains("vs_float") ? fmt::format("{:.6g}", x->at("vs_float").at(k).get<double>()) : std::string();
      };
      csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}{}\n", head, csv_field(d), num_text(f, "perplexity"),
                         num_text(fq, "perplexity"), num_text(h, "perplexity"), delta, ci(0), ci(1),
                         vs_float(fq, "kld_mean"), vs_float(h, "kld_mean"), vs_float(h, "kld_se"),
                         vs_float(h, "top1_agreement_pct"), tail);
    }
  }
  return csv;
}

std::string report_markdown(const json& r) {
  std::string md = fmt::format("# oacim sign-off report: {}\n\n", r.at("experiment").at("name").get<std::string>());
  const std::string desc = r.at("experiment").at("description");
  if (!desc.empty()) md += desc + "\n\n";
  md += fmt::format("**Verdict: {}** ({})\n\n", overall_verdict(r), summary_line(r));
  md += "| | |\n|---|---|\n";
  for (const auto& [k, v] : run_facts(r)) md += fmt::format("| {} | {} |\n", k, v);
  for (const Section& s : report_sections(r)) {
    md += fmt::format("\n## {}\n\n{}\n\n", s.title, s.text);
    md += s.table.rows.empty() ? std::string("(none)\n") : markdown_table(s.table);
  }
  const auto errors = point_errors(r);
  if (!errors.empty()) {
    md += "\n## Errors\n\n";
    for (const auto& e : errors) md += "- " + e + "\n";
  }
  return md;
}

std::string report_html(const json& r) {
  const std::string name = r.at("experiment").at("name");
  const std::string verdict = overall_verdict(r);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += fmt::format("<title>oacim sign-off: {}</title>\n<style>\n{}\n</style>\n</head>\n<body>\n", html_escape(name), kCss);
  h += fmt::format("<h1>oacim sign-off report: {}</h1>\n", html_escape(name));
  const std::string desc = r.at("experiment").at("description");
  if (!desc.empty()) h += "<p>" + html_escape(desc) + "</p>\n";
  h += fmt::format("<p><span class=\"verdict v-{}\">{}</span> &nbsp; {}</p>\n", verdict, verdict,
                   html_escape(summary_line(r)));
  h += "<table class=\"facts\">\n";
  for (const auto& [k, v] : run_facts(r)) h += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", html_escape(k), html_escape(v));
  h += "</table>\n";
  for (const Section& s : report_sections(r)) {
    h += fmt::format("<h2>{}</h2>\n<p class=\"note\">{}</p>\n", html_escape(s.title), html_escape(s.text));
    h += s.table.rows.empty() ? std::string("<p>(none)</p>\n") : html_table(s.table);
    if (s.plot.rfind("ppl:", 0) == 0) h += ppl_plot(r, s.plot.substr(4));
    if (s.plot.rfind("kld:", 0) == 0) h += kld_plot(r, s.plot.substr(4));
    if (s.plot == "layers") h += layer_plots(r);
    if (s.plot == "energy") h += energy_plot(r);
  }
  const auto errors = point_errors(r);
  if (!errors.empty()) {
    h += "<h2>Errors</h2>\n<ul>\n";
    for (const auto& e : errors) h += "<li class=\"bad\">" + html_escape(e) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Configs used</h2>\n";
  h += fmt::format("<p class=\"note\">The experiment file {} as run:</p>\n<pre>{}</pre>\n",
                   html_escape(r.at("experiment").at("file").get<std::string>()),
                   html_escape(r.at("experiment").at("yaml").get<std::string>()));
  for (const auto& [file, yaml] : r.at("hw_configs").items()) {
    h += fmt::format("<details><summary>hardware config {} (resolved, every knob)</summary>\n<pre>{}</pre></details>\n",
                     html_escape(fs::path(file).filename().string()), html_escape(yaml.get<std::string>()));
  }
  h += fmt::format("<p class=\"note\">Generated by oacim {} (commit {}) from results.json.</p>\n</body>\n</html>\n",
                   html_escape(r.at("tool").at("version").get<std::string>()),
                   html_escape(r.at("tool").at("commit").get<std::string>()));
  return h;
}

void write_reports(const std::string& dir, const json& results) {
  write_file_atomically((fs::path(dir) / "results.csv").string(), results_csv(results));
  write_file_atomically((fs::path(dir) / "report.md").string(), report_markdown(results));
  write_file_atomically((fs::path(dir) / "report.html").string(), report_html(results));
}

json read_results(const std::string& dir) {
  const std::string path = (fs::path(dir) / "results.json").string();
  if (!fs::is_regular_file(path)) throw FormatError(path, "no results.json here (is it an `oacim run` output directory?)");
  json r;
  try {
    r = json::parse(read_whole_file(path));
  } catch (const json::exception& e) {
    throw FormatError(path, std::string("not JSON: ") + e.what());
  }
  for (const char* key : {"tool", "machine", "experiment", "points", "summary", "hw_configs"}) {
    if (!r.contains(key)) throw FormatError(path, fmt::format("not an oacim results file: no '{}'", key));
  }
  return r;
}

}  // namespace oacim::report
