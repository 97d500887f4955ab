#pragma once
// `oacim tweak` end to end behind a torch-free interface: load a quantized model directory, read
// a calibration token file (`oacim calib`), split off held-out samples, tweak the norms for every
// (lr, scale) point of the grid from the same starting model, select the point with the lowest
// held-out calibration perplexity (or, flagged with a warning as upstream practice, the
// perplexity of a named evaluation set), and write the selected model as a quantized directory.
// Each finished grid point (its norms and numbers) is checkpointed in DIR/partial/; a rerun with
// the same settings reuses them, and the checkpoints go once the directory is written.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "oacim/core/progress.hpp"
#include "oacim/hw/hw_config.hpp"

namespace oacim::tweak {

struct TweakRunOptions {
  std::string model_path;      // optional: must be the quantized directory's source model
  std::string quantized_dir;   // `oacim quantize` output
  std::string calib;           // token sample file
  int nsamples = 0;            // 0 = every sample of the file
  int seqlen = 0;              // 0 = as stored; otherwise samples are cut to seqlen tokens
  int heldout = -1;            // samples kept out of tweaking; -1: n / 8 with a grid, 0 without
  std::vector<double> lrs = {1e-5};
  std::vector<double> scales = {5.0};
  int iters = 1;
  bool faithful = false;
  std::string backend = "fakequant";  // fakequant | hw
  std::string hw_file;         // where `hw` was read from ("" = the built-in defaults); the caller loads it
  hw::HwConfig hw = hw::default_hw_config();
  std::string select_on;       // "" = held-out calibration; a dataset (wikitext2, ptb, file): upstream practice
  std::string data_dir;  // empty: the bundled datasets (eval/dataset_files.hpp)
  int select_seqlen = 0;       // windows for select_on (0 = the model's maximum)
  std::string out_dir;
  ProgressFn progress;          // progress lines and warnings (core/progress.hpp); empty: silent
};

struct TweakBlock {
  int block = 0;
  double lr = 0.0, loss_before = 0.0, loss_after = 0.0, seconds = 0.0;
};

struct TweakPoint {
  double lr = 0.0, scale = 0.0;
  double heldout_ppl = 0.0;    // NaN when nothing is held out
  double select_ppl = 0.0;     // the selection metric (held-out or select_on perplexity)
  double seconds = 0.0;
  std::vector<TweakBlock> blocks;
};

struct TweakRunResult {
  double baseline_heldout_ppl = 0.0;  // before tweaking (NaN when nothing is held out)
  double baseline_select_ppl = 0.0;
  std::vector<TweakPoint> points;
  int best = 0;
  int resumed_points = 0;      // read back from DIR/partial/ checkpoints of a killed run
  int tweak_samples = 0, heldout_samples = 0;
  std::int64_t tweak_tokens = 0;
  std::string out_file;
  double seconds = 0.0;
};

TweakRunResult run_tweak(const TweakRunOptions& options);
// One grid point as JSON (`tweak --json`, checkpoints); NaN perplexities are null.
nlohmann::json to_json(const TweakPoint& point);
// The run's numbers as JSON: out, sample counts, baselines, best, resumed_points, points, seconds.
nlohmann::json to_json(const TweakRunResult& result);
// The settings as JSON (stored in the tweaked directory's metadata and in reports).
std::string tweak_options_json(const TweakRunOptions& options, const TweakPoint& chosen);

}  // namespace oacim::tweak
