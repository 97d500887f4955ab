#pragma once
// Child processes of the sweep runner: each task is an `oacim` subcommand run in its own process
// (SystemC elaborates once per process, libtorch keeps global thread pools), with stdout and
// stderr in a log file. Children die with the runner (PR_SET_PDEATHSIG), so a killed sweep leaves
// no orphan writing into its directory. POSIX/Linux only. No torch.
#include <csignal>
#include <string>
#include <sys/types.h>
#include <vector>

namespace oacim::sweep {

// Starts `exe args...` with stdout and stderr appended to `log_path` and the environment without
// an MPI launcher's variables (the child never joins an MPI job); returns the child's pid.
// Throws Error when the process cannot be created.
pid_t spawn_process(const std::string& exe, const std::vector<std::string>& args, const std::string& log_path);

struct ExitedChild {
  pid_t pid = -1;
  int exit_code = 0;  // the exit status, or 128 + signal when killed by a signal
};
// Waits for any child to exit. Returns pid -1 when a signal interrupted the wait and `*stop` is set.
ExitedChild wait_any_child(const volatile std::sig_atomic_t* stop = nullptr);

// A child that has exited, if any, without waiting (pid 0 when none has; -1 when there are no children).
ExitedChild reap_exited_child();

// Sends SIGTERM to every pid (used when the runner itself is interrupted).
void terminate_children(const std::vector<pid_t>& pids);

// The last non-empty line of a log that starts with "oacim " (the CLI's error line), else the last
// non-empty line; "" when the file is empty or missing.
std::string failure_reason(const std::string& log_path);

}  // namespace oacim::sweep
