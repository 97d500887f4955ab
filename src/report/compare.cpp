#include "oacim/report/compare.hpp"

#include <cmath>

#include <fmt/format.h>

#include "report_tables.hpp"

namespace oacim::report {

using nlohmann::json;

namespace {

const json* find_point(const json& results, const json& p) {
  for (const json& q : results.at("points")) {
    if (q.at("id") == p.at("id")) return &q;
  }
  for (const json& q : results.at("points")) {
    if (q.at("label") == p.at("label")) return &q;
  }
  return nullptr;
}

int verdict_rank(const std::string& v) { return v == "pass" ? 0 : v == "fail" ? 1 : 2; }

}  // namespace

Comparison compare_results(const json& a, const json& b, double tolerance_pct, const std::string& name_a,
                           const std::string& name_b) {
  Comparison c;
  std::string rows;
  std::vector<std::string> only_a, only_b;
  for (const json& pb : b.at("points")) {
    const json* pa = find_point(a, pb);
    if (!pa) {
      only_b.push_back(pb.at("label"));
      continue;
    }
    ++c.matched;
    const std::string label = pb.at("label");
    const std::string va = pa->at("verdict"), vb = pb.at("verdict");
    if (va != vb) {
      const bool worse = verdict_rank(vb) > verdict_rank(va);
      c.regressions += worse ? 1 : 0;
      ++c.changed;
      rows += fmt::format("| {} | verdict | | {} | {} | | {} |\n", label, va, vb, worse ? "**regression**" : "better");
    }
    for (const json& d : pb.value("datasets", json::array())) {
      const std::string dataset = d.at("name");
      for (const char* backend : {"float", "fakequant", "hw"}) {
        if (!d.contains(backend)) continue;
        const json* xa = backend_result(*pa, dataset, backend);
        if (!xa) continue;
        const double ppa = xa->at("perplexity").get<double>(), ppb = d.at(backend).at("perplexity").get<double>();
        if (ppa == ppb) continue;
        const double pct = 100.0 * (ppb / ppa - 1.0);
        const bool worse = pct > tolerance_pct;
        c.regressions += worse ? 1 : 0;
        ++c.changed;
        rows += fmt::format("| {} | {} ppl | {} | {:.4f} | {:.4f} | {:+.3f} % | {} |\n", label, backend,
                            dataset_label(dataset), ppa, ppb, pct,
                            worse ? "**regression**" : std::fabs(pct) <= tolerance_pct ? "within tolerance" : "better");
      }
    }
    const json& sa = pa->at("systemc");
    const json& sb = pb.at("systemc");
    if (!sa.is_null() && !sb.is_null() && sa.at("bit_exact") != sb.at("bit_exact")) {
      // Already counted through the verdict when the threshold is on; shown for the record.
      rows += fmt::format("| {} | co-sim | | {} | {} | | |\n", label, sa.at("bit_exact").get<bool>() ? "bit-exact" : "mismatch",
                          sb.at("bit_exact").get<bool>() ? "bit-exact" : "mismatch");
      ++c.changed;
    }
  }
  for (const json& pa : a.at("points")) {
    if (!find_point(b, pa)) only_a.push_back(pa.at("label"));
  }
  std::string md = fmt::format("# oacim compare\n\nA: {} ({}, commit {})  \nB: {} ({}, commit {})\n\n", name_a,
                               a.at("experiment").at("name").get<std::string>(),
                               a.at("tool").at("commit").get<std::string>(), name_b,
                               b.at("experiment").at("name").get<std::string>(),
                               b.at("tool").at("commit").get<std::string>());
  md += fmt::format("Verdict: {} -> {}. {} points matched, {} changes, {} regressions (perplexity tolerance {:g} %).\n\n",
                    overall_verdict(a), overall_verdict(b), c.matched, c.changed, c.regressions, tolerance_pct);
  if (!rows.empty()) {
    md += "| point | what | dataset | A | B | change | |\n|---|---|---|---:|---:|---:|---|\n" + rows;
  } else {
    md += "No differences in the matched points.\n";
  }
  if (!only_a.empty()) md += fmt::format("\nOnly in A: {}\n", fmt::join(only_a, "; "));
  if (!only_b.empty()) md += fmt::format("\nOnly in B: {}\n", fmt::join(only_b, "; "));
  c.markdown = md;
  return c;
}

}  // namespace oacim::report
