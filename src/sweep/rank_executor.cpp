// The sweep across MPI ranks (task_executor.hpp): rank 0 hands ready tasks to free slots, its own
// or another rank's; the other ranks run them as child processes and say when each ended. The
// messages are small JSON objects on one tag: rank 0 sends {"type":"task"} and {"type":"stop"},
// the others {"type":"done"} and {"type":"interrupted"}.
#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/sweep/task_executor.hpp"
#include "task_children.hpp"

namespace oacim::sweep {

namespace {

using nlohmann::json;

constexpr int kSweepTag = 7;

// The polling loops sleep when nothing happened: 50 us at first (a task that just ended is seen at
// once), doubling to 1 ms while idle (a waiting rank wakes 1,000 times a second: about 1 % of a core).
class IdleBackoff {
 public:
  void reset() { wait_ = kShortest; }
  void sleep() {
    std::this_thread::sleep_for(wait_);
    wait_ = std::min(wait_ * 2, kLongest);
  }

 private:
  static constexpr std::chrono::microseconds kShortest{50}, kLongest{1000};
  std::chrono::microseconds wait_ = kShortest;
};

json parse_message(const dist::Message& m) {
  try {
    return json::parse(m.bytes);
  } catch (const json::exception& e) {
    throw Error(fmt::format("sweep message from rank {} is not JSON: {}", m.source, e.what()));
  }
}

class RankExecutor final : public TaskExecutor {
 public:
  RankExecutor(dist::Communicator& comm, const std::string& exe, int jobs, long long threads,
               const std::vector<int>& rank_jobs, const std::vector<std::string>& hosts)
      : comm_(comm), children_(exe, threads), jobs_(jobs), free_(rank_jobs), hosts_(hosts) {
    free_.resize(static_cast<std::size_t>(comm.size()), 0);
    hosts_.resize(static_cast<std::size_t>(comm.size()), "?");
    free_[0] = 0;  // rank 0's own slots are `jobs_`, counted by children_
  }

  int free_slots() const override {
    int n = jobs_ - children_.running();
    for (std::size_t r = 1; r < free_.size(); ++r) n += free_[r];
    return n;
  }
  int running() const override { return children_.running() + remote_running_; }

  std::string start(const TaskLaunch& l) override {
    if (children_.running() < jobs_) {
      children_.start(l, "");
      return "";
    }
    for (std::size_t r = 1; r < free_.size(); ++r) {
      if (free_[r] == 0) continue;
      --free_[r];
      ++remote_running_;
      const json msg = {{"type", "task"}, {"task", l.task}, {"args", l.args}, {"log", l.log}, {"done_file", l.done_file}};
      comm_.send(static_cast<int>(r), kSweepTag, msg.dump());
      return where(static_cast<int>(r));
    }
    throw Error("sweep: no free slot to start a task on");
  }

  std::optional<TaskEnd> wait(volatile std::sig_atomic_t* stop) override {
    IdleBackoff idle;
    while (running() > 0 && !*stop) {
      if (std::optional<TaskEnd> end = children_.reap(false, nullptr)) return end;
      if (std::optional<dist::Message> m = comm_.poll(kSweepTag)) {
        const json j = parse_message(*m);
        if (j.value("type", "") == "interrupted") {
          *stop = 1;  // a rank was stopped by a signal: the whole job stops, finished work is kept
          return std::nullopt;
        }
        if (j.value("type", "") == "done") {
          ++free_[static_cast<std::size_t>(m->source)];
          --remote_running_;
          return TaskEnd{j.at("task").get<std::size_t>(), j.at("exit").get<int>(), j.at("produced").get<bool>(),
                         where(m->source)};
        }
        continue;
      }
      idle.sleep();
    }
    return std::nullopt;
  }

  void stop_all() override {
    release(true);
    children_.stop_all();
  }
  void close() override { release(false); }

  std::string describe() const override {
    int jobs = jobs_;
    for (std::size_t r = 1; r < free_.size(); ++r) jobs += free_[r];
    return fmt::format("{} MPI ranks: {} jobs ({} x {} threads on rank 0)", comm_.size(), jobs, jobs_,
                       children_.threads());
  }

 private:
  std::string where(int rank) const {
    return fmt::format("rank {} on {}", rank, hosts_[static_cast<std::size_t>(rank)]);
  }
  // Tells every other rank to end (interrupted: stop its tasks first); once.
  void release(bool interrupted) {
    if (released_) return;
    released_ = true;
    const std::string msg = json{{"type", "stop"}, {"interrupted", interrupted}}.dump();
    for (int r = 1; r < comm_.size(); ++r) comm_.send(r, kSweepTag, msg);
  }

  dist::Communicator& comm_;
  TaskChildren children_;
  int jobs_;
  std::vector<int> free_;  // free slots of rank r (r >= 1)
  int remote_running_ = 0;
  std::vector<std::string> hosts_;
  bool released_ = false;
};

}  // namespace

std::unique_ptr<TaskExecutor> rank_executor(dist::Communicator& comm, const std::string& exe, int jobs,
                                            long long threads, const std::vector<int>& rank_jobs,
                                            const std::vector<std::string>& hosts) {
  return std::make_unique<RankExecutor>(comm, exe, jobs, threads, rank_jobs, hosts);
}

bool serve_tasks(dist::Communicator& comm, const std::string& exe, int jobs, long long threads,
                 const volatile std::sig_atomic_t* stop) {
  TaskChildren children(exe, threads);
  const std::string header = fmt::format("# rank {} of {} on {}", comm.rank(), comm.size(), comm.host());
  bool told_interrupted = false;
  IdleBackoff idle;
  for (;;) {
    if (*stop && !told_interrupted) {
      children.stop_all();
      comm.send(0, kSweepTag, json{{"type", "interrupted"}}.dump());
      told_interrupted = true;
    }
    bool busy = false;
    if (std::optional<dist::Message> m = comm.poll(kSweepTag)) {
      busy = true;
      const json j = parse_message(*m);
      const std::string type = j.value("type", "");
      if (type == "stop") {
        if (j.value("interrupted", false) || told_interrupted) {
          children.stop_all();
          return false;
        }
        children.stop_all();  // none run at a normal end
        return true;
      }
      if (type == "task" && !told_interrupted) {
        TaskLaunch l{j.at("task").get<std::size_t>(), j.at("args").get<std::vector<std::string>>(),
                     j.at("log").get<std::string>(), j.at("done_file").get<std::string>()};
        if (children.running() >= jobs) throw Error("sweep: rank 0 sent a task to a full rank");
        children.start(l, header);
      }
    }
    if (std::optional<TaskEnd> end = children.reap(false, nullptr)) {
      busy = true;
      comm.send(0, kSweepTag, json{{"type", "done"}, {"task", end->task}, {"exit", end->exit_code},
                                   {"produced", end->produced}}.dump());
    }
    if (busy) {
      idle.reset();
    } else {
      idle.sleep();
    }
  }
}

}  // namespace oacim::sweep
