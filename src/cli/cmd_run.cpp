// oacim run: the main job. Runs an experiment YAML (a sweep of quantization and hardware
// settings) into DIR with results.json, results.csv, report.md and report.html; resumable.
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/sweep/experiment.hpp"
#include "oacim/sweep/experiment_schema.hpp"
#include "oacim/sweep/sweep_runner.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

int cmd_run(const std::vector<std::string>& args) {
  sweep::RunOptions o;
  bool check = false, schema = false, quiet = false;
  po::options_description opts("run options");
  opts.add_options()
      ("out", po::value(&o.out_dir), "output directory (created; a rerun into it skips finished points)")
      ("jobs", po::value(&o.jobs)->default_value(1),
       "tasks run in parallel, per MPI rank (each gets its rank's cores / jobs threads)")
      ("check", po::bool_switch(&check), "validate the file and list its points; run nothing")
      ("schema", po::bool_switch(&schema), "print the table of experiment keys (docs/configs.md)")
      ("quiet", po::bool_switch(&quiet), "no progress on stderr");
  po::options_description pos;
  pos.add_options()("config", po::value(&o.config), "experiment YAML");
  po::variables_map vm;
  const int parsed = parse_command_line("run", "CONFIG.yaml --out DIR [--jobs N] | CONFIG.yaml --check | --schema", opts,
                                        pos, {"config"}, args, vm);
  if (parsed >= 0) return parsed;
  if (schema) {
    std::cout << sweep::experiment_keys_markdown();
    return kExitOk;
  }
  if (o.config.empty()) {
    print_error("run", "an experiment file is required (see 'oacim run --help')");
    return kExitUsage;
  }
  if (check) {
    const sweep::Experiment ex = sweep::load_experiment(o.config);
    const auto points = sweep::expand(ex);
    sweep::validate(ex, points);
    std::cout << fmt::format("{}: valid, {} point{}\n", o.config, points.size(), points.size() == 1 ? "" : "s");
    for (const auto& p : points) std::cout << fmt::format("  {:>3}  {}\n", p.index + 1, p.label());
    return kExitOk;
  }
  if (o.out_dir.empty()) {
    print_error("run", "--out DIR is required");
    return kExitUsage;
  }
  if (!quiet) o.progress = [](const std::string& line) { std::cerr << "oacim run: " << line << "\n"; };
  o.comm = &world();  // under MPI rank 0 schedules and the other ranks run tasks
  const sweep::RunOutcome r = sweep::run_sweep(o);
  if (!r.reporting_rank) return r.interrupted ? kExitInterrupted : kExitOk;
  std::cout << fmt::format("run: {} points ({} from an earlier run, {} tasks run now): {} pass, {} fail, {} error\n",
                           r.points, r.reused, r.tasks_run, r.passed, r.failed, r.errors);
  std::cout << fmt::format("  {}\n  {}/report.md\n  {}/report.html\n", r.results_file, o.out_dir, o.out_dir);
  if (r.interrupted) return kExitInterrupted;
  if (r.errors > 0) return kExitFailure;
  if (r.failed > 0) return kExitVerdict;
  return kExitOk;
}

}  // namespace oacim::cli
