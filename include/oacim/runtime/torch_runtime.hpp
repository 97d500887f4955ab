#pragma once
// The one place that configures libtorch for oacim: thread count and a measured BLAS check.
// This header exposes no torch types, so callers need not include (or compile) torch.
#include <string>

namespace oacim {

struct TorchRuntimeInfo {
  std::string torch_version;  // e.g. "1.13.1"
  int threads = 0;            // intra-op threads after configuration
  std::string parallel_info;  // at::get_parallel_info(), first line
  std::string blas_library;   // the libblas.so.3 actually loaded (resolved path), or "unknown"
};

// Sets the intra-op thread count (0 = all hardware threads) and returns what torch reports.
TorchRuntimeInfo configure_torch(int threads);

// fp32 matmul rate in GFLOP/s for an n x n x n product, median of `repeats` runs after a warm-up.
double measure_matmul_gflops(int n, int repeats);

}  // namespace oacim
