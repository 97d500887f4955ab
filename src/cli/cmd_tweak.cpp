// oacim tweak: Norm Tweaking of a quantized model directory on a self-generated calibration set
// (docs/algorithms.md C), with an optional (lr, scale) grid chosen on held-out calibration samples.
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/cli/list_option.hpp"
#include "oacim/core/error.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/runtime/torch_runtime.hpp"
#include "oacim/tweak/tweak_run.hpp"
#include "oacim/version.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

int cmd_tweak(const std::vector<std::string>& args) {
  tweak::TweakRunOptions o;
  std::string hw_path, json_path, grid_lr, grid_scale;
  double lr = 1e-5, scale = 5.0;
  int threads = 0;
  po::options_description opts("tweak options");
  opts.add_options()
      ("model", po::value(&o.model_path), "the float model (checked against the quantized directory's source)")
      ("quantized", po::value(&o.quantized_dir)->required(), "quantized model directory (`oacim quantize --out`)")
      ("calib", po::value(&o.calib)->required(), "token sample file (`oacim calib`)")
      ("nsamples", po::value(&o.nsamples)->default_value(0), "samples used (0: all in the file)")
      ("seqlen", po::value(&o.seqlen)->default_value(0), "cut samples to this many tokens (0: as stored)")
      ("heldout", po::value(&o.heldout)->default_value(-1), "samples held out to choose a grid point (-1: n/8 with a grid)")
      ("lr", po::value(&lr)->default_value(lr), "lr0 of the first block")
      ("scale", po::value(&scale)->default_value(scale), "lr ramp: block l uses lr0 * (1 + scale * l / L)")
      ("grid-lr", po::value(&grid_lr), "comma-separated lr0 values to search (replaces --lr)")
      ("grid-scale", po::value(&grid_scale), "comma-separated scales to search (replaces --scale)")
      ("iters", po::value(&o.iters)->default_value(1), "passes over the calibration samples per block")
      ("faithful", po::bool_switch(&o.faithful), "next block's input recorded before each step (NT) instead of after tweaking")
      ("backend", po::value(&o.backend)->default_value(o.backend), "quantized backend in the loop: fakequant | hw")
      ("hw", po::value(&hw_path), "hardware config for --backend hw (default: built-in defaults)")
      ("select-on", po::value(&o.select_on), "choose the grid point on this dataset's perplexity (upstream practice; warns)")
      ("data-dir", po::value(&o.data_dir), "folder of the named datasets (default: the bundled tests/data/text)")
      ("select-seqlen", po::value(&o.select_seqlen)->default_value(0), "window length for --select-on (0: the model's maximum)")
      ("out", po::value(&o.out_dir)->required(), "output quantized model directory with tweaked norms")
      ("threads", po::value(&threads)->default_value(0), "CPU threads (0: all)")
      ("json", po::value(&json_path), "write every grid point and per-block losses to this JSON file");
  po::variables_map vm;
  const int parsed = parse_command_line("tweak", "--quantized DIR --calib FILE [--lr 1e-5 --scale 5] --out DIR", opts,
                                        po::options_description(), {}, args, vm);
  if (parsed >= 0) return parsed;
  o.lrs = grid_lr.empty() ? std::vector<double>{lr} : parse_number_list(grid_lr, "--grid-lr");
  o.scales = grid_scale.empty() ? std::vector<double>{scale} : parse_number_list(grid_scale, "--grid-scale");
  if (!hw_path.empty() && o.backend != "hw") throw InvalidArgument("--hw", "only with --backend hw");
  if (!hw_path.empty()) o.hw = hw::load_hw_config(hw_path);
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
