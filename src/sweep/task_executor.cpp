#include "oacim/sweep/task_executor.hpp"

#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "oacim/sweep/subprocess.hpp"
#include "task_children.hpp"

namespace oacim::sweep {

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

long long task_threads(long long configured, int jobs, int ranks_on_host) {
  if (configured > 0) return configured;
  const int cpus = usable_cpus();
  // Ranks bound to their own cores each see their share; unbound ones share the host's CPUs.
  const bool bound = cpus < static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const long long sharers = static_cast<long long>(jobs) * (bound ? 1 : std::max(1, ranks_on_host));
  return std::max(1LL, cpus / sharers);
}

pid_t TaskChildren::start(const TaskLaunch& l, const std::string& header) {
  std::vector<std::string> args = l.args;
  args.push_back("--threads");
  args.push_back(std::to_string(threads_));
  {
    std::ofstream log(l.log, std::ios::app);
    if (!header.empty()) log << header << "\n";
    log << "$ oacim " << fmt::format("{}", fmt::join(args, " ")) << "\n";
  }
  const pid_t pid = spawn_process(exe_, args, l.log);
  running_[pid] = l;
  return pid;
}

std::optional<TaskEnd> TaskChildren::reap(bool block, volatile std::sig_atomic_t* stop) {
  while (!running_.empty()) {
    const ExitedChild c = block ? wait_any_child(stop) : reap_exited_child();
    if (c.pid <= 0) return std::nullopt;  // none exited yet, or a stop signal
    const auto it = running_.find(c.pid);
    if (it == running_.end()) continue;  // not a task (cannot happen: the runner starts no others)
    TaskEnd end{it->second.task, c.exit_code, std::filesystem::exists(it->second.done_file), ""};
    running_.erase(it);
    return end;
  }
  return std::nullopt;
}

void TaskChildren::stop_all() {
  std::vector<pid_t> pids;
  for (const auto& [pid, l] : running_) pids.push_back(pid);
  terminate_children(pids);
  for (std::size_t k = 0; k < pids.size(); ++k) wait_any_child();
  running_.clear();
}

namespace {

class LocalExecutor final : public TaskExecutor {
 public:
  LocalExecutor(const std::string& exe, int jobs, long long threads) : children_(exe, threads), jobs_(jobs) {}
  int free_slots() const override { return jobs_ - children_.running(); }
  int running() const override { return children_.running(); }
  std::string start(const TaskLaunch& l) override {
    children_.start(l, "");
    return "";
  }
  std::optional<TaskEnd> wait(volatile std::sig_atomic_t* stop) override { return children_.reap(true, stop); }
  void stop_all() override { children_.stop_all(); }
  std::string describe() const override { return fmt::format("{} jobs x {} threads", jobs_, children_.threads()); }

 private:
  TaskChildren children_;
  int jobs_;
};

}  // namespace

std::unique_ptr<TaskExecutor> local_executor(const std::string& exe, int jobs, long long threads) {
  return std::make_unique<LocalExecutor>(exe, jobs, threads);
}

}  // namespace oacim::sweep
