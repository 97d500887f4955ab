// The report's energy section: energy per token and its breakdown by event, TOPS/W and the chip's
// latency per point, what the per-column offsets save against the same point without them, and
// the Pareto front of hw perplexity against energy per token.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "oacim/report/svg_plot.hpp"
#include "report_tables.hpp"

namespace oacim::report {

namespace {

using nlohmann::json;

const char* const kEventColors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#9c755f", "#ff9da7", "#bab0ac"};

bool has_energy(const json& p) { return p.at("status") == "ok" && p.contains("energy") && !p.at("energy").is_null(); }

// A counter per token through the model.
double per_token(const json& p, const char* counter) {
  const double tokens = p.at("energy").at("model_tokens").get<double>();
  return tokens > 0 ? p.at("hw_counters").at(counter).get<double>() / tokens : NAN;
}

// The point with the same settings but offsets off (whatever its offset_lambda, which then does
// nothing), or nullptr.
const json* without_offsets(const json& points, const json& p) {
  const json& s = p.at("settings");
  if (!s.contains("quantization.offsets") || s.at("quantization.offsets") != "true") return nullptr;
  for (const json& q : points) {
    if (!has_energy(q)) continue;
    json want = s;
    want["quantization.offsets"] = "false";
    json got = q.at("settings");
    if (got.contains("quantization.offset_lambda")) got["quantization.offset_lambda"] = s.value("quantization.offset_lambda", json());
    if (got == want) return &q;
  }
  return nullptr;
}

std::string change_pct(double now, double before) {
  return before > 0 && std::isfinite(now) ? fmt::format("{:+.2f} %", 100.0 * (now / before - 1.0)) : "-";
}

}  // namespace

Section energy_section(const json& results) {
  const json& points = results.at("points");
  Section s;
  s.title = "Energy and latency";
  s.text = "Energy per token from the exact event counts of the hw runs times the hardware config's energy.* prices "
           "(docs/hardware.md, Energy); a point with unpriced events shows a lower bound and names them. TOPS/W counts "
           "two operations per MAC. Cycles are the timing model's (equal to SystemC's on every co-simulated layer). "
           "Offsets: cell activations and energy against the point with the same settings and offsets off.";
  s.table.headers = {"#", "point", "pJ/token", "priced", "TOPS/W", "cycles/token", "tokens/s", "cell activations/token",
                     "offsets: activations", "offsets: energy"};
  s.table.numeric = {true, false, true, false, true, true, true, true, true, true};
  s.plot = "energy";
  for (const json& p : points) {
    if (!has_energy(p)) continue;
    const json& e = p.at("energy");
    const json& lat = p.at("latency");
    std::string priced = "all events";
    if (!e.at("complete").get<bool>()) {
      priced = "lower bound; not priced: ";
      for (std::size_t i = 0; i < e.at("not_configured").size(); ++i) {
        priced += (i ? ", " : "") + e.at("not_configured")[i].get<std::string>();
      }
    }
    std::string act_change = "-", energy_change = "-";
    if (const json* q = without_offsets(points, p)) {
      act_change = change_pct(per_token(p, "cell_activations"), per_token(*q, "cell_activations"));
      energy_change = change_pct(e.at("pj_per_token").get<double>(), q->at("energy").at("pj_per_token").get<double>());
    }
    s.table.rows.push_back({fmt::format("{}", p.at("index").get<int>() + 1), p.at("label"),
                            fmt::format("{:.4g}", e.at("pj_per_token").get<double>()), priced,
                            fmt::format("{:.3g}", e.at("tops_per_watt").get<double>()),
                            fmt::format("{:.1f}", lat.at("cycles_per_token").get<double>()),
                            fmt::format("{:.4g}", lat.at("tokens_per_second").get<double>()),
                            fmt::format("{:.4g}", per_token(p, "cell_activations")), act_change, energy_change});
  }
  return s;
}

std::string energy_plot(const json& results) {
  BarChart c;
  c.title = "Energy per token by event (pJ; priced events only)";
  c.y_label = "pJ/token";
  c.stacked = true;
  std::vector<std::string> events;
  for (const json& p : results.at("points")) {
    if (!has_energy(p)) continue;
    c.categories.push_back(fmt::format("point {}", p.at("index").get<int>() + 1));
    const double tokens = std::max(1.0, p.at("energy").at("model_tokens").get<double>());
    for (const json& ev : p.at("energy").at("events")) {
      const std::string name = ev.at("event");
      std::size_t i = 0;
      while (i < events.size() && events[i] != name) ++i;
      if (i == events.size()) {
        events.push_back(name);
        c.series.push_back({name, kEventColors[i % 10], {}});
      }
      auto& values = c.series[i].values;
      values.resize(c.categories.size() - 1, NAN);
      values.push_back(ev.at("pj_per_event").is_null() ? NAN : ev.at("pj").get<double>() / tokens);
    }
  }
  // Events no point prices draw nothing: keep them out of the legend.
  std::vector<BarSeries> priced;
  for (BarSeries& b : c.series) {
    if (std::any_of(b.values.begin(), b.values.end(), [](double v) { return std::isfinite(v); })) priced.push_back(std::move(b));
  }
  c.series = std::move(priced);
  std::string svg = svg_bar_chart(c);
  // Where the energy goes: per layer, one bar per point (the first ten with a per-layer breakdown).
  BarChart layers;
  layers.title = "Energy per token by layer (pJ; priced events only)";
  layers.y_label = "pJ/token";
  for (const json& p : results.at("points")) {
    if (!has_energy(p) || !p.contains("energy_by_layer") || p.at("energy_by_layer").empty()) continue;
    if (layers.series.size() == 10) break;
    if (layers.categories.empty()) {
      for (const json& l : p.at("energy_by_layer")) layers.categories.push_back(l.at("layer"));
    }
    BarSeries s{fmt::format("point {}", p.at("index").get<int>() + 1), kEventColors[layers.series.size()], {}};
    for (const std::string& name : layers.categories) {
      double v = NAN;
      for (const json& l : p.at("energy_by_layer")) {
        if (l.at("layer") == name) v = l.at("pj_per_token").get<double>();
      }
      s.values.push_back(v);
    }
    layers.series.push_back(std::move(s));
  }
  if (!layers.series.empty()) svg += svg_bar_chart(layers);
  // The trade-off: hw perplexity on the first dataset against energy per token, one point each.
  ScatterPlot pareto;
  std::string dataset;
  bool all_priced = true;
  for (const json& p : results.at("points")) {
    if (!has_energy(p) || p.at("datasets").empty()) continue;
    if (dataset.empty()) dataset = p.at("datasets")[0].at("name").get<std::string>();
    const json* hw = backend_result(p, dataset, "hw");
    if (!hw) continue;
    all_priced = all_priced && p.at("energy").at("complete").get<bool>();
    pareto.points.push_back({p.at("energy").at("pj_per_token").get<double>(), hw->at("perplexity").get<double>(),
                             fmt::format("point {}", p.at("index").get<int>() + 1)});
  }
  if (pareto.points.size() >= 2) {
    pareto.title = "hw perplexity on " + dataset_label(dataset) + " against energy per token (lower left is better)";
    pareto.x_label = all_priced ? "pJ per token" : "pJ per token (priced events only: a lower bound)";
    pareto.y_label = "perplexity";
    svg += svg_pareto_plot(pareto);
  }
  return svg;
}

}  // namespace oacim::report
