// The sign-off report from a fixed results.json (tests/data/report, a real run of fixture.yaml
// with a passing, a failing and two error points): golden Markdown and CSV, a self-contained and
// deterministic HTML file, threshold verdicts, and `compare`'s regression view.
// OACIM_UPDATE_GOLDEN=1 rewrites the golden files (review the diff before committing it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/hw/energy_json.hpp"
#include "oacim/hw/hw_config.hpp"
#include "oacim/report/compare.hpp"
#include "oacim/report/report_writer.hpp"
#include "oacim/report/svg_plot.hpp"
#include "oacim/sweep/experiment.hpp"
#include "oacim/sweep/point_result.hpp"

using namespace oacim;
using nlohmann::json;

namespace {

const std::string kSrc = OACIM_SOURCE_DIR;

json fixture() { return report::read_results(kSrc + "/tests/data/report"); }

void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = kSrc + "/tests/golden/report/" + name;
  const char* update = std::getenv("OACIM_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << text;
    return;
  }
  EXPECT_EQ(text, read_whole_file(path)) << "differs from " << path;
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(Report, MarkdownMatchesGolden) {
  const std::string md = report::report_markdown(fixture());
  expect_golden("report.md", md);
  EXPECT_NE(md.find("**Verdict: ERROR** (4 points: 1 pass, 1 fail, 2 error)"), std::string::npos);
  EXPECT_NE(md.find("exceeds the model's 512 positions"), std::string::npos);
}

TEST(Report, CsvHasOneRowPerPointAndDataset) {
  const std::string csv = report::results_csv(fixture());
  expect_golden("results.csv", csv);
  EXPECT_EQ(count(csv, "\n"), 1u + 4u);
  EXPECT_EQ(csv.rfind("point,label,status,verdict,eval.seqlen,hardware.config,dataset,", 0), 0u);
}

TEST(Report, HtmlIsSelfContainedAndDeterministic) {
  const json r = fixture();
  const std::string html = report::report_html(r);
  EXPECT_EQ(html, report::report_html(r));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* remote : {"<script", " src=", "href=", "url(", "@import", "<link"}) {
    EXPECT_EQ(html.find(remote), std::string::npos) << remote;
  }
  EXPECT_EQ(count(html, "<svg"), 4u);  // perplexity, KL divergence, weight error, ones-count (RTN: no output error)
  EXPECT_NE(html.find("v-ERROR"), std::string::npos);
  EXPECT_NE(html.find("hardware config hw-"), std::string::npos);  // every resolved config is embedded
  EXPECT_NE(html.find("seqlen: [128, 1024]"), std::string::npos);   // and the experiment file as run
}

TEST(Report, SvgEscapesTextAndSkipsMissingBars) {
  report::BarChart c;
  c.title = "a <b> & \"c\"";
  c.categories = {"x", "y"};
  c.series = {{"s", "#000", {1.0, NAN}}};
  const std::string svg = report::svg_bar_chart(c);
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(count(svg, "<rect"), 2u);  // the legend swatch and one bar
}

TEST(Report, ReadResultsRejectsWhatIsNotAResultsFile) {
  const std::string dir = ::testing::TempDir() + "/not_results";
  std::system(("mkdir -p " + dir).c_str());
  EXPECT_THROW(report::read_results(dir), FormatError);
  std::ofstream(dir + "/results.json") << "{\"points\": []}";
  try {
    report::read_results(dir);
    FAIL() << "accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("results.json: not an oacim results file: no 'tool'"), std::string::npos)
        << e.what();
  }
}

TEST(Compare, IdenticalRunsHaveNoChanges) {
  const json r = fixture();
  const report::Comparison c = report::compare_results(r, r, 0.1, "A", "B");
  EXPECT_EQ(c.matched, 4);
  EXPECT_EQ(c.changed, 0);
  EXPECT_EQ(c.regressions, 0);
  EXPECT_NE(c.markdown.find("No differences"), std::string::npos);
}

TEST(Compare, PerplexityRiseAndWorseVerdictAreRegressions) {
  const json a = fixture();
  json b = a;
  json& p0 = b["points"][0];
  const double hw = p0["datasets"][0]["hw"]["perplexity"].get<double>();
  p0["datasets"][0]["hw"]["perplexity"] = hw * 1.01;  // +1 %
  p0["verdict"] = "fail";
  b["points"].erase(b["points"].begin() + 3);
  const report::Comparison c = report::compare_results(a, b, 0.1, "A", "B");
  EXPECT_EQ(c.matched, 3);
  EXPECT_EQ(c.regressions, 2);
  EXPECT_NE(c.markdown.find("+1.000 %"), std::string::npos) << c.markdown;
  EXPECT_NE(c.markdown.find("Only in A: seqlen=1024 config=oacim-narrow"), std::string::npos) << c.markdown;
  // Within tolerance: listed, not a regression.
  const report::Comparison tolerant = report::compare_results(a, b, 2.0, "A", "B");
  EXPECT_EQ(tolerant.regressions, 1);
}

TEST(Verdicts, EachThresholdPassesFailsOrIsNotApplicable) {
  const sweep::Experiment ex = sweep::parse_experiment(
      "model: m\ndatasets: [d]\nthresholds:\n  fakequant_vs_float_ppl_pct: 10\n  max_overflows: off\n", "e.yaml");
  const sweep::SweepPoint p = sweep::expand(ex).front();
  json point = {{"datasets", json::array({{{"name", "d"},
                                           {"float", {{"perplexity", 10.0}}},
                                           {"fakequant", {{"perplexity", 10.5}}},
                                           {"hw", {{"perplexity", 10.6}}}}})},
                {"hw_counters", {{"tree_overflows", 3}, {"acc_overflows", 0}}},
                {"systemc", nullptr}};
  const json v = sweep::point_verdicts(point, p);
  ASSERT_EQ(v.size(), 3u);  // hw vs fakequant, fakequant vs float, systemc (hw vs float and overflows are off)
  EXPECT_EQ(v[0]["check"], "hw_vs_fakequant_ppl_pct");
  EXPECT_NEAR(v[0]["value"].get<double>(), 100.0 * (10.6 / 10.5 - 1), 1e-9);
  EXPECT_EQ(v[0]["status"], "fail");  // +0.95 % > 0.5 %
  EXPECT_EQ(v[1]["check"], "fakequant_vs_float_ppl_pct");
  EXPECT_EQ(v[1]["status"], "pass");  // +5 % <= 10 %
  EXPECT_EQ(v[2]["check"], "systemc_bit_exact");
  EXPECT_EQ(v[2]["status"], "n/a");
}

TEST(Verdicts, ConfidenceAndAgreementWithTheFloatModel) {
  const sweep::Experiment ex = sweep::parse_experiment(
      "model: m\ndatasets: [d, e]\nthresholds:\n  hw_vs_fakequant_ppl_pct: off\n  fakequant_vs_float_ppl_pct: off\n"
      "  max_overflows: off\n  systemc_bit_exact: false\n  hw_vs_fakequant_ppl_pct_ci95: 0.2\n  hw_max_mean_kld: 0.1\n"
      "  hw_min_top1_agreement_pct: 80\n  hw_vs_float_acc_drop_pts: 5\n",
      "e.yaml");
  const sweep::SweepPoint p = sweep::expand(ex).front();
  // d: hw is worse, but the interval reaches below the limit; e: the whole interval lies above it.
  json point = {{"datasets", json::array({{{"name", "d"},
                                           {"hw", {{"perplexity", 10.0}, {"vs_float", {{"kld_mean", 0.05}, {"top1_agreement_pct", 85.0}}}}},
                                           {"hw_vs_fakequant", {{"ppl_pct_ci95", {0.1, 0.9}}}}},
                                          {{"name", "e"},
                                           {"hw", {{"perplexity", 10.0}, {"vs_float", {{"kld_mean", 0.15}, {"top1_agreement_pct", 70.0}}}}},
                                           {"hw_vs_fakequant", {{"ppl_pct_ci95", {0.3, 0.9}}}}}})},
                {"hw_counters", nullptr},
                {"systemc", nullptr},
                // f: hw 12 points worse, but the interval reaches -3: not 5 points worse with confidence;
                // g: the whole interval lies more than 5 points down.
                {"zero_shot", json::array({{{"file", "f"}, {"hw_vs_float_acc_pts", {{"mean", -12.0}, {"ci95", {-21.0, -3.0}}}}},
                                           {{"file", "g"}, {"hw_vs_float_acc_pts", {{"mean", -12.0}, {"ci95", {-18.0, -6.0}}}}},
                                           {{"file", "h"}}})}};
  const json v = sweep::point_verdicts(point, p);
  ASSERT_EQ(v.size(), 9u);
  const auto status = [&](const std::string& check, const std::string& dataset) {
    for (const json& x : v) {
      if (x["check"] == check && x["dataset"] == dataset) return x["status"].get<std::string>();
    }
    return std::string("missing");
  };
  EXPECT_EQ(status("hw_vs_fakequant_ppl_pct_ci95", "d"), "pass");
  EXPECT_EQ(status("hw_vs_fakequant_ppl_pct_ci95", "e"), "fail");
  EXPECT_EQ(status("hw_max_mean_kld", "d"), "pass");
  EXPECT_EQ(status("hw_max_mean_kld", "e"), "fail");
  EXPECT_EQ(status("hw_min_top1_agreement_pct", "d"), "pass");
  EXPECT_EQ(status("hw_min_top1_agreement_pct", "e"), "fail");
  EXPECT_EQ(status("hw_vs_float_acc_drop_pts", "f"), "pass");
  EXPECT_EQ(status("hw_vs_float_acc_drop_pts", "g"), "fail");
  EXPECT_EQ(status("hw_vs_float_acc_drop_pts", "h"), "n/a");
  // Without a comparison with the float model the checks are not applicable.
  point["datasets"][0]["hw"].erase("vs_float");
  point["datasets"][0].erase("hw_vs_fakequant");
  const json w = sweep::point_verdicts(point, p);
  EXPECT_EQ(w[0]["status"], "n/a");
}

TEST(Verdicts, EnergyPerTokenPassesFailsOrIsOnlyALowerBound) {
  const sweep::Experiment ex = sweep::parse_experiment(
      "model: m\ndatasets: [d]\nthresholds:\n  hw_vs_fakequant_ppl_pct: off\n  max_overflows: off\n"
      "  systemc_bit_exact: false\n  max_energy_pj_per_token: 1000\n",
      "e.yaml");
  const sweep::SweepPoint p = sweep::expand(ex).front();
  json point = {{"datasets", json::array()}, {"hw_counters", nullptr}, {"systemc", nullptr},
                {"energy", {{"pj_per_token", 900.0}, {"complete", true}}}};
  const auto status = [&]() { return sweep::point_verdicts(point, p).at(0).at("status").get<std::string>(); };
  EXPECT_EQ(status(), "pass");
  point["energy"]["pj_per_token"] = 1100.0;
  EXPECT_EQ(status(), "fail");
  point["energy"]["complete"] = false;  // a lower bound above the limit still fails
  EXPECT_EQ(status(), "fail");
  point["energy"]["pj_per_token"] = 900.0;  // below: unpriced events could still push it over
  EXPECT_EQ(status(), "n/a");
  point["energy"] = nullptr;
  EXPECT_EQ(status(), "n/a");
}

// The energy section: per point pJ/token, what is unpriced, and the offsets' savings against the
// point that differs only in quantization.offsets; the HTML adds the stacked bars by event.
TEST(Report, EnergySectionShowsTheBreakdownAndWhatOffsetsSave) {
  json r = fixture();
  json& points = r["points"];
  const json* ok = nullptr;
  for (const json& p : points) {
    if (p.at("status") == "ok") ok = &p;
  }
  ASSERT_NE(ok, nullptr);
  json without = *ok, with = *ok;
  hw::HwCounters c;
  c.tokens = 3500;
  c.macs = 1000000;
  c.cell_activations = 800000;
  c.tree_adds = 900000;
  c.cycles = 50000;
  hw::EnergyPrices prices = hw::default_hw_config().energy;
  prices.cell_activation = 0.5;
  without["settings"]["quantization.offsets"] = "false";
  without["hw_counters"] = json::object();
  for (const auto& [k, v] : c.items()) without["hw_counters"][k] = v;
  without["energy"] = hw::energy_json(c, prices, 100);
  without["latency"] = hw::latency_json(c, 1000.0, 100);
  c.cell_activations = 600000;  // offsets: a quarter fewer activations
  with["settings"]["quantization.offsets"] = "true";
  with["index"] = 10;
  with["hw_counters"]["cell_activations"] = c.cell_activations;
  with["energy"] = hw::energy_json(c, prices, 100);
  with["latency"] = hw::latency_json(c, 1000.0, 100);
  without["energy_by_layer"] = json::array({{{"layer", "l0"}, {"pj_per_token", 3000.0}}, {{"layer", "l1"}, {"pj_per_token", 1270.0}}});
  with["energy_by_layer"] = json::array({{{"layer", "l0"}, {"pj_per_token", 2200.0}}, {{"layer", "l1"}, {"pj_per_token", 1070.0}}});
  points.push_back(without);
  points.push_back(with);
  const std::string md = report::report_markdown(r);
  EXPECT_NE(md.find("## Energy and latency"), std::string::npos) << md;
  EXPECT_NE(md.find("-25.00 %"), std::string::npos) << md;             // activations per token
  EXPECT_NE(md.find("-23.42 %"), std::string::npos) << md;             // (300,000 + 27,000) / (400,000 + 27,000) pJ
  EXPECT_NE(md.find("lower bound; not priced: static_cycle"), std::string::npos) << md;  // the only unpriced count
  EXPECT_NE(md.find("| 500.0 |"), std::string::npos) << md;            // 50,000 cycles / 100 tokens
  const std::string html = report::report_html(r);
  EXPECT_EQ(count(html, "<svg"), 7u);  // the fixture's four plots, energy by event, by layer, the Pareto plot
  EXPECT_NE(html.find("Energy per token by event"), std::string::npos);
  EXPECT_NE(html.find("Energy per token by layer"), std::string::npos);
  EXPECT_NE(html.find("l0: point 11 = 2200"), std::string::npos);  // a bar's tooltip
}

TEST(Report, ParetoFrontKeepsThePointsNothingBeatsOnBothAxes) {
  const std::vector<report::ScatterPoint> pts = {
      {5.0, 10.0, "a"}, {3.0, 12.0, "b"}, {4.0, 11.0, "c"}, {4.5, 11.5, "d"}, {6.0, 9.0, "e"}, {6.0, 9.5, "f"}, {NAN, 1.0, "g"}};
  EXPECT_EQ(report::pareto_front(pts), (std::vector<std::size_t>{1, 2, 0, 4}));  // b c a e by energy; d, f dominated
  report::ScatterPlot plot;
  plot.title = "t";
  plot.points = pts;
  const std::string svg = report::svg_pareto_plot(plot);
  EXPECT_EQ(count(svg, "<circle"), 2u + 6u);  // legend markers and every finite point
  EXPECT_EQ(count(svg, "<polyline"), 1u);
}
