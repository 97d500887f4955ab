#pragma once
// What a sweep runs: every point turned into `oacim` subcommands (calib, quantize, tweak, eval),
// each a Task named by a hash of its command line, so points that share a setting share the task
// (one calibration set per calibration setting, one quantized model per quantization setting
// across hardware points, one float evaluation per dataset). A task is finished when its output
// file exists (every subcommand writes it atomically, last); outputs live in DIR/cache/. No torch.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "oacim/sweep/experiment.hpp"

namespace oacim::sweep {

struct Task {
  std::string id;                  // "<kind>-<16 hex digits>"
  std::string kind;                // calib | quantize | tweak | eval
  std::string what;                // one line for progress, e.g. "eval hw on wikitext2"
  std::vector<std::string> args;   // the oacim subcommand and its options (--threads is added at run time)
  std::string out;                 // DIR/cache/<id>: calib/quantize/tweak's --out (with its suffix)
  std::string done_file;           // exists => finished
  std::vector<std::size_t> deps;   // tasks whose outputs this one reads
  // Rough relative run time (tokens through the model, weighted per kind; task_plan.cpp says
  // how): only the order in which ready tasks start depends on it.
  double cost = 1.0;
};

// One evaluation of a point: `backend` is float, fakequant or hw; `systemc` marks the hw run that
// also co-simulated the sampled layers.
struct EvalRef {
  std::string dataset;  // the dataset, or the task file when `zero_shot`
  std::string backend;
  bool systemc = false;
  std::size_t task = 0;
  bool zero_shot = false;  // a task file (eval --task) instead of a perplexity dataset
};

struct PointPlan {
  SweepPoint point;
  std::string id;                         // 16 hex digits of the point's settings
  std::vector<std::size_t> tasks;         // every task the point needs (deps included), in run order
  std::optional<std::size_t> quantize, tweak;
  std::vector<EvalRef> evals;
  std::string hw_file;                    // the resolved hardware config (DIR/cache/hw-*.yaml), "" without hw
  std::string hw_name;
};

struct Plan {
  std::vector<Task> tasks;                       // dependencies before dependants
  std::vector<PointPlan> points;
  std::map<std::string, std::string> hw_files;   // path -> YAML text, written before any task runs
};

Plan make_plan(const Experiment& experiment, const std::vector<SweepPoint>& points, const std::string& out_dir);

// The order in which ready tasks start across MPI ranks: longest estimated chain to the end first
// (a task's cost plus the longest chain of the tasks that read its output), plan order on ties,
// so the calibration and quantization that many evaluations wait for start before them.
std::vector<std::size_t> start_order(const Plan& plan);

}  // namespace oacim::sweep
