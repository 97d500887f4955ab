#include "oacim/sweep/sweep_runner.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/host_memory.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/report/report_writer.hpp"
#include "oacim/sweep/experiment.hpp"
#include "oacim/sweep/point_result.hpp"
#include "oacim/sweep/subprocess.hpp"
#include "oacim/sweep/task_executor.hpp"
#include "oacim/sweep/task_plan.hpp"
#include "rank_agreement.hpp"
#include "oacim/version.hpp"

namespace oacim::sweep {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }

enum class TaskState { Pending, Running, Done, Failed };

std::string first_line_with(const std::string& file, const std::string& prefix) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

std::string duration(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return fmt::format("{}h{:02d}m", static_cast<int>(s) / 3600, static_cast<int>(s) / 60 % 60);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json experiment_json(const Experiment& ex, const std::vector<SweepPoint>& points) {
  json swept = json::array();
  if (!points.empty()) swept = points.front().swept;
  return {{"file", ex.file},
          {"name", ex.value("name")},
          {"description", ex.value("description")},
          {"model", ex.value("model")},
          {"datasets", ex.lists.at("datasets")},
          {"backends", ex.lists.at("backends")},
          {"swept", swept},
          {"yaml", ex.yaml_text}};
}

}  // namespace

json machine_json() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  std::string os = first_line_with("/etc/os-release", "PRETTY_NAME=");
  if (os.size() >= 2 && os.front() == '"') os = os.substr(1, os.size() - 2);
  std::string cpu = first_line_with("/proc/cpuinfo", "model name\t: ");
  const std::int64_t mem = read_host_memory().total;
  const double mem_gib = mem > 0 ? static_cast<double>(mem) / (1024.0 * 1024.0 * 1024.0) : 0.0;
  return {{"host", host},
          {"os", os},
          {"cpu", cpu},
          {"cores", std::thread::hardware_concurrency()},
          {"memory_gib", std::round(mem_gib * 10) / 10}};
}

namespace {

// One run of an experiment into its directory: the plan, which points and tasks are finished,
// the child processes in flight, and the results written as points finish.
class SweepRun {
 public:
  explicit SweepRun(const RunOptions& o) : o_(o) {}

  RunOutcome run() {
    dist::Communicator& comm = o_.comm ? *o_.comm : dist::single_process();
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int {}, old_term {};
    g_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    const auto restore = [&] {
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
    };
    try {
      if (!comm.root()) {
        serve(comm);
      } else {
        lead(comm);
      }
    } catch (...) {
      restore();
      throw;
    }
    restore();
    return out_;
  }

 private:
  // Another rank: agrees with rank 0, then runs the tasks it is sent.
  void serve(dist::Communicator& comm) {
    if (o_.jobs < 1) throw InvalidArgument("jobs", "must be at least 1");
    const RankAgreement a = agree_as_worker(comm, o_.config, o_.out_dir, o_.jobs);
    const std::string exe = o_.exe.empty() ? fs::read_symlink("/proc/self/exe").string() : o_.exe;
    const long long threads = task_threads(a.threads, o_.jobs, a.ranks_on_host(comm.rank()));
    out_.reporting_rank = false;
    out_.interrupted = !serve_tasks(comm, exe, o_.jobs, threads, &g_stop);
  }

  // This process alone, or rank 0 of several: plans, schedules and writes the results.
  void lead(dist::Communicator& comm) {
    if (comm.distributed()) {
      const RankAgreement a = agree_as_root(comm, o_.config, o_.out_dir, o_.jobs, [&] {
        prepare();
        return ex_threads_;
      });
      threads_ = task_threads(ex_threads_, o_.jobs, a.ranks_on_host(0));
      exec_ = rank_executor(comm, exe_, o_.jobs, threads_, a.jobs, a.hosts);
    } else {
      prepare();
      threads_ = task_threads(ex_threads_, o_.jobs, 1);
      exec_ = local_executor(exe_, o_.jobs, threads_);
    }
    load_finished_points();
    init_task_states();
    // Across ranks the longest chains start first (the makespan of many slots); one process keeps
    // the plan's order, so its points finish one after another.
    if (comm.distributed()) {
      order_ = start_order(plan_);
    } else {
      for (std::size_t t = 0; t < plan_.tasks.size(); ++t) order_.push_back(t);
    }
    started_ = utc_now();
    machine_ = machine_json();
    t0_ = std::chrono::steady_clock::now();
    if (o_.progress) {
      int pending = 0;
      for (const auto s : state_) pending += s == TaskState::Pending ? 1 : 0;
      o_.progress(fmt::format("{} points ({} finished earlier), {} tasks to run, {}", plan_.points.size(), out_.reused,
                              pending, exec_->describe()));
    }
    resolve_points();  // points whose every task finished in an earlier run
    schedule();
    if (g_stop) {
      stop_running();
    } else {
      exec_->close();
    }
    write_results(std::all_of(resolved_.begin(), resolved_.end(), [](bool r) { return r; }));
  }

  // Everything is checked before the output directory is touched; then the plan and its files.
  void prepare() {
    if (o_.jobs < 1) throw InvalidArgument("jobs", "must be at least 1");
    if (o_.out_dir.empty()) throw InvalidArgument("out", "must name a directory");
    ex_ = load_experiment(o_.config);
    points_ = expand(ex_);
    validate(ex_, points_);
    dir_ = o_.out_dir;
    for (const char* sub : {"cache", "points", "logs"}) fs::create_directories(fs::path(dir_) / sub);
    plan_ = make_plan(ex_, points_, dir_);
    for (const auto& [path, yaml] : plan_.hw_files) {
      if (!fs::exists(path) || read_whole_file(path) != yaml) write_file_atomically(path, yaml);
    }
    write_file_atomically((fs::path(dir_) / "experiment.yaml").string(), ex_.yaml_text);
    exe_ = o_.exe.empty() ? fs::read_symlink("/proc/self/exe").string() : o_.exe;
    ex_threads_ = std::stoll(ex_.value("threads"));
    out_.points = static_cast<int>(points_.size());
    results_.assign(plan_.points.size(), json());
    resolved_.assign(plan_.points.size(), false);
  }

  std::string point_file(std::size_t i) const {
    return (fs::path(dir_) / "points" / (plan_.points[i].id + ".json")).string();
  }
  std::string log_of(const Task& task) const { return (fs::path(dir_) / "logs" / (task.id + ".log")).string(); }

  // Points a run of this DIR finished before are kept as they are.
  void load_finished_points() {
    for (std::size_t i = 0; i < plan_.points.size(); ++i) {
      const std::string f = point_file(i);
      if (!fs::exists(f)) continue;
      try {
        json j = json::parse(read_whole_file(f));
        if (j.at("status") == "ok") {
          j["index"] = plan_.points[i].point.index;  // the same settings may sit elsewhere in an edited sweep
          results_[i] = j;
          resolved_[i] = true;
          ++out_.reused;
        }
      } catch (const std::exception&) {
        // An unreadable point file is recomputed.
      }
    }
  }

  // The tasks of unfinished points: done when their output exists, pending otherwise.
  void init_task_states() {
    state_.assign(plan_.tasks.size(), TaskState::Done);
    reason_.assign(plan_.tasks.size(), "");
    for (std::size_t i = 0; i < plan_.points.size(); ++i) {
      if (resolved_[i]) continue;
      for (const std::size_t t : plan_.points[i].tasks) {
        state_[t] = fs::exists(plan_.tasks[t].done_file) ? TaskState::Done : TaskState::Pending;
      }
    }
  }

  void write_results(bool final_write) {
    json doc = {{"tool", {{"name", "oacim"}, {"version", kVersion}, {"commit", kGitCommit}}},
                {"machine", machine_},
                {"started", started_},
                {"experiment", experiment_json(ex_, points_)},
                {"hw_configs", plan_.hw_files},
                {"complete", final_write}};
    json list = json::array();
    int pass = 0, fail = 0, error = 0, pending = 0;
    for (std::size_t i = 0; i < plan_.points.size(); ++i) {
      if (!resolved_[i]) {
        ++pending;
        continue;
      }
      list.push_back(results_[i]);
      const std::string v = results_[i].at("verdict");
      (v == "pass" ? pass : v == "fail" ? fail : error)++;
    }
    doc["points"] = list;
    doc["summary"] = {{"points", plan_.points.size()}, {"pass", pass}, {"fail", fail}, {"error", error}, {"pending", pending}};
    doc["verdict"] = pending > 0 ? "incomplete" : error > 0 ? "error" : fail > 0 ? "fail" : "pass";
    out_.passed = pass;
    out_.failed = fail;
    out_.errors = error;
    out_.results_file = (fs::path(dir_) / "results.json").string();
    write_file_atomically(out_.results_file, doc.dump(2) + "\n");
    report::write_reports(dir_, doc);
  }

  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

  // Writes every point whose tasks have all ended (an error point when one failed).
  void resolve_points() {
    const std::size_t n = plan_.points.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (resolved_[i]) continue;
      std::string failure;
      bool all = true;
      for (const std::size_t t : plan_.points[i].tasks) {
        if (state_[t] == TaskState::Failed && failure.empty()) failure = reason_[t];
        if (state_[t] == TaskState::Pending || state_[t] == TaskState::Running) all = false;
      }
      if (!all) continue;
      results_[i] = point_result(plan_, plan_.points[i], failure);
      write_file_atomically(point_file(i), results_[i].dump(2) + "\n");
      resolved_[i] = true;
      ++finished_now_;
      write_results(false);
      if (o_.progress) {
        const int left = static_cast<int>(std::count(resolved_.begin(), resolved_.end(), false));
        const double eta = elapsed() / finished_now_ * left;
        o_.progress(fmt::format("[{}/{}] point {} ({}): {}{} after {}{}", n - static_cast<std::size_t>(left), n,
                                plan_.points[i].point.index + 1, plan_.points[i].point.label(),
                                results_[i].at("verdict").get<std::string>(), failure.empty() ? "" : " - " + failure,
                                duration(elapsed()), left > 0 ? ", ETA " + duration(eta) : ""));
      }
    }
  }

  // Starts ready tasks in order_ while slots are free; a task whose dependency failed
  // fails with it. Returns whether such failures were propagated.
  bool start_ready_tasks() {
    bool propagated = false;
    for (const std::size_t t : order_) {
      if (exec_->free_slots() == 0) break;
      if (state_[t] != TaskState::Pending) continue;
      bool ready = true;
      for (const std::size_t d : plan_.tasks[t].deps) {
        if (state_[d] == TaskState::Failed) {
          state_[t] = TaskState::Failed;
          reason_[t] = reason_[d];
          propagated = true;
        }
        if (state_[d] != TaskState::Done) ready = false;
      }
      if (!ready || state_[t] != TaskState::Pending) continue;
      start_task(t);
    }
    return propagated;
  }

  void start_task(std::size_t t) {
    const Task& task = plan_.tasks[t];
    const std::string where = exec_->start({t, task.args, log_of(task), task.done_file});
    if (o_.progress) o_.progress(fmt::format("  start {} ({}){}", task.id, task.what, where.empty() ? "" : " on " + where));
    state_[t] = TaskState::Running;
    ++out_.tasks_run;
  }

  // A task ended: done when its output exists, failed (with its log's reason) otherwise. A task
  // of another rank that wrote its output may take a moment to show on a network file system.
  void finish_task(const TaskEnd& end) {
    const std::size_t t = end.task;
    const Task& task = plan_.tasks[t];
    if (fs::exists(task.done_file) || (end.produced && wait_visible(task.done_file))) {
      state_[t] = TaskState::Done;
      return;
    }
    state_[t] = TaskState::Failed;
    const std::string on = end.where.empty() ? "" : " on " + end.where;
    if (end.produced) {
      reason_[t] = fmt::format("{} wrote {}{} but rank 0 does not see it: DIR must be on a file system every rank "
                               "shares",
                               task.id, task.done_file, on);
      return;
    }
    const std::string log = log_of(task);
    const std::string why = failure_reason(log);
    reason_[t] = fmt::format("{} failed (exit {}){}: {} [log: {}]", task.id, end.exit_code, on,
                             why.empty() ? "no output" : why, log);
  }

  static bool wait_visible(const std::string& path) {
    for (int attempt = 0; attempt < 600 && !fs::exists(path); ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return fs::exists(path);
  }

  // Until every task has ended or a stop signal came.
  void schedule() {
    while (!g_stop) {
      if (start_ready_tasks()) resolve_points();
      if (exec_->running() == 0) {
        if (std::none_of(state_.begin(), state_.end(), [](TaskState s) { return s == TaskState::Pending; })) break;
        continue;  // failures propagated this pass; look again
      }
      const std::optional<TaskEnd> end = exec_->wait(&g_stop);
      if (!end) break;
      finish_task(*end);
      resolve_points();
    }
  }

  void stop_running() {
    exec_->stop_all();
    out_.interrupted = true;
    if (o_.progress) o_.progress("interrupted; finished points and tasks are kept, rerun to continue");
  }

  const RunOptions& o_;
  Experiment ex_;
  std::vector<SweepPoint> points_;
  std::string dir_, exe_;
  long long ex_threads_ = 0, threads_ = 1;
  std::unique_ptr<TaskExecutor> exec_;
  std::vector<std::size_t> order_;
  Plan plan_;
  RunOutcome out_;
  std::vector<json> results_;
  std::vector<bool> resolved_;
  std::vector<TaskState> state_;
  std::vector<std::string> reason_;
  json machine_;
  std::string started_;
  std::chrono::steady_clock::time_point t0_;
  int finished_now_ = 0;
};

}  // namespace

RunOutcome run_sweep(const RunOptions& o) { return SweepRun(o).run(); }

}  // namespace oacim::sweep
