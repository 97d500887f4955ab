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
  int blas_threads = 0;       // OpenBLAS's own thread count after configuration (0: not OpenBLAS)
};

// Sets the intra-op thread count (0 = all hardware threads), for libtorch and for OpenBLAS, whose
// pthread build keeps its own pool (sized by the CPUs at load) that at::set_num_threads does not
// touch; returns what they report. OpenBLAS cuts long reductions (a Hessian's X^T X over many
// tokens) differently for other thread counts, so results are bit-identical for equal `threads`.
TorchRuntimeInfo configure_torch(int threads);

// fp32 matmul rate in GFLOP/s for an n x n x n product, median of `repeats` runs after a warm-up.
double measure_matmul_gflops(int n, int repeats);

}  // namespace oacim
