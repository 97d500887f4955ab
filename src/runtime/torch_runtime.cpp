#include "oacim/runtime/torch_runtime.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn.h>
#include <torch/version.h>

namespace oacim {

namespace {

// The BLAS mapped into this process, read from /proc/self/maps (the alternative may point at the
// reference BLAS, which makes every fp32 matmul ~35x slower).
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    const std::string path = line.substr(pos);
    if (path.find("libblas") != std::string::npos || path.find("openblas") != std::string::npos) return path;
  }
  return "unknown";
}

// OpenBLAS's thread setters, looked up at run time: libblas.so.3 is whichever BLAS the Debian
// alternative points at, and only OpenBLAS has them.
using SetThreads = void (*)(int);
using GetThreads = int (*)();

int set_openblas_threads(int threads) {
  const auto set = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const auto get = reinterpret_cast<GetThreads>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (set == nullptr || get == nullptr) return 0;
  set(threads);
  return get();
}

}  // namespace

TorchRuntimeInfo configure_torch(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  const int blas_threads = set_openblas_threads(threads);
  TorchRuntimeInfo info;
  info.torch_version = TORCH_VERSION;
  info.threads = at::get_num_threads();
  std::istringstream parallel(at::get_parallel_info());
  for (std::string line; std::getline(parallel, line);) {
    if (line.find("parallel backend") != std::string::npos) info.parallel_info = line;
  }
  info.blas_library = loaded_blas();
  info.blas_threads = blas_threads;
  return info;
}

double measure_matmul_gflops(int n, int repeats) {
  const at::Tensor a = at::randn({n, n});
  const at::Tensor b = at::randn({n, n});
  at::Tensor c = at::matmul(a, b);  // warm-up
  std::vector<double> seconds;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    c = at::matmul(a, b);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  return 2.0 * n * static_cast<double>(n) * n / median / 1e9;
}

}  // namespace oacim
