// Scheduling overhead of the sweep per task (docs/scaleout.md): the same trivial task (/bin/true)
// run N times one after another, started and reaped by this process (local executor), then
// handed to rank 1 and reported back (rank executor, run under `mpirun -n 2`). The difference is
// what dispatching a task to another rank costs; the local figure is the fork/exec floor.
// Usage: mpirun -n 2 bench_dispatch [TASKS=200]   (as one process: the local figure only)
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "oacim/dist/communicator.hpp"
#include "oacim/sweep/task_executor.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;

double run_tasks(oacim::sweep::TaskExecutor& exec, int tasks, const std::string& log) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < tasks; ++i) {
    exec.start({static_cast<std::size_t>(i), {"true"}, log, "/nonexistent"});
    if (!exec.wait(&g_stop)) return -1.0;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / tasks;
}

}  // namespace

int main(int argc, char** argv) {
  oacim::dist::Session session(argc, argv);
  oacim::dist::Communicator& comm = session.world();
  const int tasks = argc > 1 ? std::atoi(argv[1]) : 200;
  const std::string log = (std::filesystem::temp_directory_path() / "oacim-bench-dispatch.log").string();
  if (!comm.root()) {
    oacim::sweep::serve_tasks(comm, "/bin/true", 1, 1, &g_stop);
    return 0;
  }
  auto local = oacim::sweep::local_executor("/bin/true", 1, 1);
  const double local_s = run_tasks(*local, tasks, log);
  std::printf("tasks: %d, each /bin/true, one at a time\n", tasks);
  std::printf("local executor (child of this process): %8.1f us/task\n", local_s * 1e6);
  if (comm.distributed()) {
    std::vector<int> jobs(static_cast<std::size_t>(comm.size()), 0);
    jobs[1] = 1;
    std::vector<std::string> hosts(static_cast<std::size_t>(comm.size()), "?");
    auto ranks = oacim::sweep::rank_executor(comm, "/bin/true", 0, 1, jobs, hosts);
    const double remote_s = run_tasks(*ranks, tasks, log);
    ranks->close();
    std::printf("rank executor (run by rank 1):          %8.1f us/task\n", remote_s * 1e6);
    std::printf("dispatch overhead per task:             %8.1f us (%.2fx the local start)\n",
                (remote_s - local_s) * 1e6, remote_s / local_s);
  }
  std::filesystem::remove(log);
  return 0;
}
