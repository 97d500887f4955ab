#include "oacim/sweep/subprocess.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/dist/communicator.hpp"

namespace oacim::sweep {

pid_t spawn_process(const std::string& exe, const std::vector<std::string>& args, const std::string& log_path) {
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<std::string> argv_store;
  argv_store.push_back(exe);
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  // A task is a plain single process even when this runner is a rank of an MPI job.
  std::vector<std::string> env_store = dist::environment_without_launcher();
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw FormatError(log_path, fmt::format("cannot open the task log: {}", std::strerror(errno)));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fd);
    throw Error(fmt::format("cannot start '{}': {}", exe, std::strerror(err)));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the runner died before prctl took effect
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(exe.c_str(), argv.data(), envp.data());
    static const char msg[] = "oacim run: cannot execute the oacim binary\n";
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

ExitedChild wait_any_child(const volatile std::sig_atomic_t* stop) {
  ExitedChild c;
  int status = 0;
  pid_t pid;
  do {
    pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR && stop && *stop) return c;
  } while (pid < 0 && errno == EINTR);
  if (pid < 0) throw Error(fmt::format("waitpid: {}", std::strerror(errno)));
  c.pid = pid;
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
  return c;
}

ExitedChild reap_exited_child() {
  ExitedChild c;
  int status = 0;
  pid_t pid;
  do {
    pid = ::waitpid(-1, &status, WNOHANG);
  } while (pid < 0 && errno == EINTR);
  if (pid < 0 && errno == ECHILD) return c;
  if (pid < 0) throw Error(fmt::format("waitpid: {}", std::strerror(errno)));
  c.pid = pid;
  if (pid > 0) c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
  return c;
}

void terminate_children(const std::vector<pid_t>& pids) {
  for (const pid_t p : pids) ::kill(p, SIGTERM);
}

std::string failure_reason(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, last, last_oacim;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    last = line;
    if (line.rfind("oacim ", 0) == 0) last_oacim = line;
  }
  return last_oacim.empty() ? last : last_oacim;
}

}  // namespace oacim::sweep
