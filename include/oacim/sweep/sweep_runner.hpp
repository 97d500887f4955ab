#pragma once
// `oacim run CONFIG --out DIR`: validates the experiment, plans its tasks (task_plan.hpp), runs
// them as `oacim` child processes, at most `jobs` at a time (per rank under MPI, task_executor.hpp,
// where ready tasks start longest chain first; one process keeps the plan's order), and writes
// each point's result
// atomically to DIR/points/<id>.json the moment its last task finishes, then DIR/results.json and
// the reports. A rerun skips finished points and finished tasks (a killed quantize or tweak
// resumes from its own checkpoints), so killing the runner loses at most the tasks in flight.
// A task that fails makes its points error points with the reason; the sweep goes on. Progress
// lines (task starts, finished points with an ETA) go to a callback. No torch.
#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "oacim/core/progress.hpp"

#include "oacim/dist/communicator.hpp"

namespace oacim::sweep {

struct RunOptions {
  std::string config;        // experiment YAML
  std::string out_dir;
  int jobs = 1;              // tasks run in parallel
  std::string exe;           // the oacim binary the tasks run ("" = this process's own executable)
  ProgressFn progress;  // one line per event (core/progress.hpp); empty: silent
  // The ranks of an MPI job (docs/scaleout.md): rank 0 plans, schedules and writes every result;
  // the others run the tasks it hands them. nullptr: this process alone.
  dist::Communicator* comm = nullptr;
};

struct RunOutcome {
  bool reporting_rank = true;  // false on ranks other than 0: they only ran tasks
  int points = 0;
  int reused = 0;            // finished by an earlier run of the same DIR
  int passed = 0, failed = 0, errors = 0;
  int tasks_run = 0;         // tasks this run executed
  bool interrupted = false;  // SIGINT / SIGTERM: the children were stopped, finished work is kept
  std::string results_file;
};

RunOutcome run_sweep(const RunOptions& options);

// The machine the numbers came from: host, CPU model, cores, memory, OS.
nlohmann::json machine_json();

}  // namespace oacim::sweep
