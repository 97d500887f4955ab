#pragma once
// Where the sweep's tasks run (docs/scaleout.md). The runner decides what is ready and in which
// order (sweep_runner.hpp); an executor owns the slots that run tasks: child processes of this
// process (`--jobs` of them), and under MPI also the slots of the other ranks, which run each
// task exactly as this process would (the same command, log and output in DIR) and report when
// it ended. No torch.
#include <csignal>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "oacim/dist/communicator.hpp"

namespace oacim::sweep {

struct TaskLaunch {
  std::size_t task = 0;             // index into the plan
  std::vector<std::string> args;    // the oacim subcommand (the executor adds --threads)
  std::string log;                  // stdout and stderr, appended
  std::string done_file;            // exists when the task finished
};

struct TaskEnd {
  std::size_t task = 0;
  int exit_code = 0;
  bool produced = false;            // the done file existed where the task ran
  std::string where;                // "" for this process; "rank 2 on node7" otherwise
};

class TaskExecutor {
 public:
  virtual ~TaskExecutor() = default;
  virtual int free_slots() const = 0;
  virtual int running() const = 0;
  // Starts a task on a free slot; returns where ("" here, else "rank R on HOST").
  virtual std::string start(const TaskLaunch& launch) = 0;
  // Waits until a running task ends; nothing when `*stop` was set meanwhile or no task runs. Sets
  // `*stop` itself when another rank was interrupted (the whole job stops).
  virtual std::optional<TaskEnd> wait(volatile std::sig_atomic_t* stop) = 0;
  // Stops every running task (SIGTERM, then waits) and, under MPI, every other rank.
  virtual void stop_all() = 0;
  // Every task has ended: under MPI the other ranks are released.
  virtual void close() {}
  // The slots in words, e.g. "2 jobs x 1 threads" or "3 ranks: 6 jobs".
  virtual std::string describe() const = 0;
};

// The CPUs this process may run on (its affinity mask; all of them when unrestricted).
int usable_cpus();

// Threads each task gets: `configured` when > 0, else the usable CPUs divided among the jobs (and
// among the ranks that share this host's CPUs when they are not bound to separate cores).
long long task_threads(long long configured, int jobs, int ranks_on_host);

// `jobs` child processes of this process, each started with `--threads threads`.
std::unique_ptr<TaskExecutor> local_executor(const std::string& exe, int jobs, long long threads);

// Rank 0 of a distributed sweep: its own `jobs` children plus the slots of the other ranks, which
// run serve_tasks(). `rank_jobs[r]` are rank r's slots, `hosts[r]` its host (for messages).
std::unique_ptr<TaskExecutor> rank_executor(dist::Communicator& comm, const std::string& exe, int jobs,
                                            long long threads, const std::vector<int>& rank_jobs,
                                            const std::vector<std::string>& hosts);

// The other ranks of a distributed sweep: run the tasks rank 0 sends (at most `jobs` at once, each
// with `threads` threads) until it says stop. Returns false when interrupted by a signal (the
// children are stopped and rank 0 is told, so the whole job stops with finished work kept).
bool serve_tasks(dist::Communicator& comm, const std::string& exe, int jobs, long long threads,
                 const volatile std::sig_atomic_t* stop);

}  // namespace oacim::sweep
