// oacim tweak: Norm Tweaking of a quantized model directory on a self-generated calibration set
// (docs/algorithms.md C), with an optional (lr, scale) grid chosen on held-out calibration samples.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/cli/table_options.hpp"
#include "oacim/core/error.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/runtime/torch_runtime.hpp"
#include "oacim/tweak/tweak_options.hpp"
#include "oacim/tweak/tweak_run.hpp"
#include "oacim/version.hpp"


namespace oacim::cli {

int cmd_tweak(const std::vector<std::string>& args) {
  tweak::TweakRunOptions o;
  o.progress = stderr_progress();
  TableCommand cmd{"tweak", "--quantized DIR --calib FILE [--lr 1e-5 --scale 5] --out DIR",
                   "write every grid point and per-block losses to this JSON file"};
  const int parsed = parse_table_command(cmd, tweak::tweak_options(), o, args);
  if (parsed >= 0) return parsed;
  const std::string& json_path = cmd.json_path;
  const int threads = cmd.threads;
  if (!o.hw_file.empty() && o.backend != "hw") throw InvalidArgument("--hw", "only with --backend hw");
  if (!o.hw_file.empty()) o.hw = hw::load_hw_config(o.hw_file);
  configure_torch(threads);

  const tweak::TweakRunResult r = tweak::run_tweak(o);
  const tweak::TweakPoint& best = r.points[static_cast<std::size_t>(r.best)];
  std::cout << fmt::format("tweak: {} -> {} ({} samples, {} tokens; {} held out), {} point(s), {:.1f} s\n", o.quantized_dir,
                           r.out_file, r.tweak_samples, r.tweak_tokens, r.heldout_samples, r.points.size(), r.seconds);
  for (const tweak::TweakPoint& p : r.points) {
    std::cout << fmt::format("  lr {:g} scale {:g}: held-out ppl {:.4f}{}{}\n", p.lr, p.scale, p.heldout_ppl,
                             o.select_on.empty() ? "" : fmt::format(", {} ppl {:.4f}", o.select_on, p.select_ppl),
                             &p == &best ? "  <- chosen" : "");
  }
  std::cout << fmt::format("  before tweaking: held-out ppl {:.4f}\n", r.baseline_heldout_ppl);
  if (!json_path.empty()) {
    nlohmann::json doc = tweak::to_json(r);
    doc["command"] = "tweak";
    doc["version"] = kVersion;
    doc["quantized"] = o.quantized_dir;
    doc["options"] = nlohmann::json::parse(tweak::tweak_options_json(o, best));
    write_json_result(json_path, doc);
  }
  return kExitOk;
}

}  // namespace oacim::cli
