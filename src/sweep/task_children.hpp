#pragma once
// The task processes of one rank (task_executor.hpp): started with the log header and --threads,
// reaped with their done file checked. Private to the sweep layer.
#include <csignal>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>

#include "oacim/sweep/task_executor.hpp"

namespace oacim::sweep {

class TaskChildren {
 public:
  TaskChildren(std::string exe, long long threads) : exe_(std::move(exe)), threads_(threads) {}
  // Appends `header` (when not empty) and the command line to the task's log, then starts it.
  pid_t start(const TaskLaunch& launch, const std::string& header);
  // The next task that ended: waiting for one when `block` (until `*stop`), else only if one has.
  std::optional<TaskEnd> reap(bool block, volatile std::sig_atomic_t* stop);
  void stop_all();
  int running() const { return static_cast<int>(running_.size()); }
  long long threads() const { return threads_; }

 private:
  std::string exe_;
  long long threads_;
  std::map<pid_t, TaskLaunch> running_;
};

}  // namespace oacim::sweep
