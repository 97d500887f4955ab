// oacim report / oacim compare: the sign-off report regenerated from a run's results.json, and the
// difference between two runs (CI's regression view).
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/report/compare.hpp"
#include "oacim/report/report_writer.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

namespace {

// A results.json that parses but holds the wrong types is a bad file, not a crash.
template <typename F>
auto on_results(const std::string& dir, F&& f) {
  try {
    return f();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError((std::filesystem::path(dir) / "results.json").string(),
                      std::string("not a valid oacim results file: ") + e.what());
  }
}

}  // namespace

int cmd_report(const std::vector<std::string>& args) {
  std::string dir;
  po::options_description opts("report options");
  po::options_description pos;
  pos.add_options()("dir", po::value(&dir)->required(), "an `oacim run` output directory");
  po::variables_map vm;
  const int parsed = parse_command_line("report", "DIR", opts, pos, {"dir"}, args, vm);
  if (parsed >= 0) return parsed;
  const nlohmann::json r = report::read_results(dir);
  on_results(dir, [&] {
    report::write_reports(dir, r);
    return 0;
  });
  std::cout << fmt::format("report: {0}/report.md, {0}/report.html, {0}/results.csv ({1})\n", dir,
                           r.value("verdict", std::string("incomplete")));
  return kExitOk;
}

int cmd_compare(const std::vector<std::string>& args) {
  std::string a, b, out;
  double tolerance = 0.1;
  po::options_description opts("compare options");
  opts.add_options()("tolerance", po::value(&tolerance)->default_value(tolerance),
                     "perplexity rise (percent) still accepted")(
      "out", po::value(&out), "also write the Markdown to this file");
  po::options_description pos;
  pos.add_options()("a", po::value(&a)->required(), "baseline run directory")(
      "b", po::value(&b)->required(), "new run directory");
  po::variables_map vm;
  const int parsed = parse_command_line("compare", "DIR_A DIR_B [--tolerance 0.1] [--out FILE.md]", opts, pos,
                                        {"a", "b"}, args, vm);
  if (parsed >= 0) return parsed;
  if (!(tolerance >= 0)) throw InvalidArgument("--tolerance", "must be a non-negative percentage");
  const nlohmann::json ra = report::read_results(a);
  const nlohmann::json rb = report::read_results(b);
  const report::Comparison c = on_results(b, [&] { return report::compare_results(ra, rb, tolerance, a, b); });
  std::cout << c.markdown;
  if (!out.empty()) write_file_atomically(out, c.markdown);
  return c.regressions > 0 ? kExitVerdict : kExitOk;
}

}  // namespace oacim::cli
