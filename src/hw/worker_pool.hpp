#pragma once
// A small persistent thread pool for the fast datapath: a layer call does not pay for thread
// creation, and each worker keeps its thread_local scratch buffers from one call to the next.
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace oacim::hw {

class WorkerPool {
 public:
  static WorkerPool& instance();
  // Runs fn(0), ..., fn(n - 1) at once, fn(0) on the calling thread; one call at a time.
  void run(int n, const std::function<void(int)>& fn);
  ~WorkerPool();

 private:
  void loop(int index);
  std::mutex call_mutex_;
  std::mutex m_;
  std::condition_variable cv_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* fn_ = nullptr;
  std::uint64_t generation_ = 0;
  int active_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

// Runs fn(chunk, begin, end) over [0, n) split into `threads` contiguous chunks.
template <typename Fn>
void parallel_chunks(int n, int threads, Fn fn) {
  threads = std::max(1, std::min(threads, n));
  const std::function<void(int)> task = [&](int k) { fn(k, n * k / threads, n * (k + 1) / threads); };
  WorkerPool::instance().run(threads, task);
}

}  // namespace oacim::hw
