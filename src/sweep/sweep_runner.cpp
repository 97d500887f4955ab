#include "oacim/sweep/sweep_runner.hpp"

#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/report/report_writer.hpp"
#include "oacim/sweep/experiment.hpp"
#include "oacim/sweep/point_result.hpp"
#include "oacim/sweep/subprocess.hpp"
#include "oacim/sweep/task_plan.hpp"
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
  double mem_gib = 0;
  const std::string mem = first_line_with("/proc/meminfo", "MemTotal:");
  if (!mem.empty()) mem_gib = std::stod(mem) / (1024.0 * 1024.0);
  return {{"host", host},
          {"os", os},
          {"cpu", cpu},
          {"cores", std::thread::hardware_concurrency()},
          {"memory_gib", std::round(mem_gib * 10) / 10}};
}

RunOutcome run_sweep(const RunOptions& o) {
  if (o.jobs < 1) throw InvalidArgument("--jobs", "must be at least 1");
  if (o.out_dir.empty()) throw InvalidArgument("--out", "must name a directory");
  // Everything is checked before the output directory is touched.
  const Experiment ex = load_experiment(o.config);
  const std::vector<SweepPoint> points = expand(ex);
  validate(ex, points);
  const std::string dir = o.out_dir;
  for (const char* sub : {"cache", "points", "logs"}) fs::create_directories(fs::path(dir) / sub);
  const Plan plan = make_plan(ex, points, dir);
  for (const auto& [path, yaml] : plan.hw_files) {
    if (!fs::exists(path) || read_whole_file(path) != yaml) write_file_atomically(path, yaml);
  }
  write_file_atomically((fs::path(dir) / "experiment.yaml").string(), ex.yaml_text);

  const std::string exe = o.exe.empty() ? fs::read_symlink("/proc/self/exe").string() : o.exe;
  const long long cores = std::max(1u, std::thread::hardware_concurrency());
  const long long threads = std::stoll(ex.value("threads")) > 0 ? std::stoll(ex.value("threads"))
                                                                 : std::max(1LL, cores / o.jobs);

  RunOutcome out;
  out.points = static_cast<int>(points.size());
  const std::size_t n_points = plan.points.size();
  std::vector<json> results(n_points);
  std::vector<bool> resolved(n_points, false);
  auto point_file = [&](std::size_t i) { return (fs::path(dir) / "points" / (plan.points[i].id + ".json")).string(); };
  for (std::size_t i = 0; i < n_points; ++i) {
    const std::string f = point_file(i);
    if (!fs::exists(f)) continue;
    try {
      json j = json::parse(read_whole_file(f));
      if (j.at("status") == "ok") {
        j["index"] = plan.points[i].point.index;  // the same settings may sit elsewhere in an edited sweep
        results[i] = j;
        resolved[i] = true;
        ++out.reused;
      }
    } catch (const std::exception&) {
      // An unreadable point file is recomputed.
    }
  }

  std::vector<TaskState> state(plan.tasks.size(), TaskState::Done);
  std::vector<std::string> reason(plan.tasks.size());
  for (std::size_t i = 0; i < n_points; ++i) {
    if (resolved[i]) continue;
    for (const std::size_t t : plan.points[i].tasks) {
      state[t] = fs::exists(plan.tasks[t].done_file) ? TaskState::Done : TaskState::Pending;
    }
  }

  const json machine = machine_json();
  const std::string started = utc_now();
  auto write_results = [&](bool final_write) {
    json doc = {{"tool", {{"name", "oacim"}, {"version", kVersion}, {"commit", kGitCommit}}},
                {"machine", machine},
                {"started", started},
                {"experiment", experiment_json(ex, points)},
                {"hw_configs", plan.hw_files},
                {"complete", final_write}};
    json list = json::array();
    int pass = 0, fail = 0, error = 0, pending = 0;
    for (std::size_t i = 0; i < n_points; ++i) {
      if (!resolved[i]) {
        ++pending;
        continue;
      }
      list.push_back(results[i]);
      const std::string v = results[i].at("verdict");
      (v == "pass" ? pass : v == "fail" ? fail : error)++;
    }
    doc["points"] = list;
    doc["summary"] = {{"points", n_points}, {"pass", pass}, {"fail", fail}, {"error", error}, {"pending", pending}};
    doc["verdict"] = pending > 0 ? "incomplete" : error > 0 ? "error" : fail > 0 ? "fail" : "pass";
    out.passed = pass;
    out.failed = fail;
    out.errors = error;
    out.results_file = (fs::path(dir) / "results.json").string();
    write_file_atomically(out.results_file, doc.dump(2) + "\n");
    report::write_reports(dir, doc);
  };

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  int finished_now = 0;
  auto resolve_points = [&] {
    for (std::size_t i = 0; i < n_points; ++i) {
      if (resolved[i]) continue;
      std::string failure;
      bool all = true;
      for (const std::size_t t : plan.points[i].tasks) {
        if (state[t] == TaskState::Failed && failure.empty()) failure = reason[t];
        if (state[t] == TaskState::Pending || state[t] == TaskState::Running) all = false;
      }
      if (!all) continue;
      results[i] = point_result(plan, plan.points[i], failure);
      write_file_atomically(point_file(i), results[i].dump(2) + "\n");
      resolved[i] = true;
      ++finished_now;
      write_results(false);
      if (o.progress) {
        int left = 0;
        for (std::size_t k = 0; k < n_points; ++k) left += resolved[k] ? 0 : 1;
        const double eta = elapsed() / finished_now * left;
        std::cerr << fmt::format("oacim run: [{}/{}] point {} ({}): {}{} after {}{}\n", n_points - left, n_points,
                                 plan.points[i].point.index + 1, plan.points[i].point.label(),
                                 results[i].at("verdict").get<std::string>(),
                                 failure.empty() ? "" : " - " + failure, duration(elapsed()),
                                 left > 0 ? ", ETA " + duration(eta) : "");
      }
    }
  };

  if (o.progress) {
    int pending = 0;
    for (const auto s : state) pending += s == TaskState::Pending ? 1 : 0;
    std::cerr << fmt::format("oacim run: {} points ({} finished earlier), {} tasks to run, {} jobs x {} threads\n",
                             n_points, out.reused, pending, o.jobs, threads);
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  g_stop = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  auto log_of = [&](const Task& task) { return (fs::path(dir) / "logs" / (task.id + ".log")).string(); };
  std::map<pid_t, std::size_t> running;
  resolve_points();  // points whose every task finished in an earlier run
  while (!g_stop) {
    bool progressed = false;
    for (std::size_t t = 0; t < plan.tasks.size() && static_cast<int>(running.size()) < o.jobs; ++t) {
      if (state[t] != TaskState::Pending) continue;
      bool ready = true;
      for (const std::size_t d : plan.tasks[t].deps) {
        if (state[d] == TaskState::Failed) {
          state[t] = TaskState::Failed;
          reason[t] = reason[d];
          progressed = true;
        }
        if (state[d] != TaskState::Done) ready = false;
      }
      if (!ready || state[t] != TaskState::Pending) continue;
      const Task& task = plan.tasks[t];
      std::vector<std::string> args = task.args;
      args.push_back("--threads");
      args.push_back(std::to_string(threads));
      const std::string log = log_of(task);
      {
        std::ofstream l(log, std::ios::app);
        l << "$ oacim " << fmt::format("{}", fmt::join(args, " ")) << "\n";
      }
      if (o.progress) std::cerr << fmt::format("oacim run:   start {} ({})\n", task.id, task.what);
      running[spawn_process(exe, args, log)] = t;
      state[t] = TaskState::Running;
      ++out.tasks_run;
    }
    if (progressed) resolve_points();
    if (running.empty()) {
      bool pending = false;
      for (const auto s : state) pending = pending || s == TaskState::Pending;
      if (!pending) break;
      continue;  // failures propagated this pass; look again
    }
    const ExitedChild c = wait_any_child(&g_stop);
    if (c.pid < 0) break;
    const auto it = running.find(c.pid);
    if (it == running.end()) continue;
    const std::size_t t = it->second;
    running.erase(it);
    const Task& task = plan.tasks[t];
    if (fs::exists(task.done_file)) {
      state[t] = TaskState::Done;
    } else {
      state[t] = TaskState::Failed;
      const std::string log = log_of(task);
      const std::string why = failure_reason(log);
      reason[t] = fmt::format("{} failed (exit {}): {} [log: {}]", task.id, c.exit_code,
                              why.empty() ? "no output" : why, log);
    }
    resolve_points();
  }
  if (g_stop) {
    std::vector<pid_t> pids;
    for (const auto& [pid, t] : running) pids.push_back(pid);
    terminate_children(pids);
    for (std::size_t k = 0; k < pids.size(); ++k) wait_any_child();
    out.interrupted = true;
    if (o.progress) std::cerr << "oacim run: interrupted; finished points and tasks are kept, rerun to continue\n";
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  bool complete = true;
  for (std::size_t i = 0; i < n_points; ++i) complete = complete && resolved[i];
  write_results(complete);
  return out;
}

}  // namespace oacim::sweep
