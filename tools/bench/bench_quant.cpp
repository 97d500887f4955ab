// Quantization wall time per layer shape for GPTQ and OA-CIM (outliers + offsets), as ratios to
// one Cholesky factorisation of the same C x C Hessian measured in the same run (the floor any
// GPTQ-family method pays), and the OA / GPTQ ratio. Upstream's OA search costs about
// block_size + 1 GPTQ passes per block; ours restarts each candidate at its quad and prunes.
// Usage: bench_quant [--all] [--threads N]   (default shapes 768x768 and 2048x2048; --all adds
// 4096x4096 and 4096x11008, several minutes on 2 cores).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "oacim/quant/hessian.hpp"
#include "oacim/quant/layer_quantizer.hpp"

#include "bench_baseline.hpp"

namespace {

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  bool all = false;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--all") == 0) all = true;
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = std::atoi(argv[++i]);
  }
  at::set_num_threads(threads);
  oacim::bench::prepare_blas_baseline(argv, "bench_quant");
  std::vector<std::pair<int, int>> shapes = {{768, 768}, {2048, 2048}};
  if (all) {
    shapes.push_back({4096, 4096});
    shapes.push_back({4096, 11008});  // rows x cols: a LLaMA-7B down_proj
  }
  std::printf("%-12s %10s %10s %10s %12s %12s %8s\n", "R x C", "chol s", "gptq s", "oa s", "gptq/chol", "oa/chol", "oa/gptq");
  for (const auto& [rows, cols] : shapes) {
    at::manual_seed(0);
    const at::Tensor x = at::randn({2048, cols});
    oacim::quant::HessianAccumulator acc(cols);
    acc.add_batch(x);
    const at::Tensor h = acc.matrix() + at::eye(cols) * 1e-2;
    at::Tensor w = at::randn({rows, cols}) * 0.02;
    w = at::where(at::rand({rows, cols}) < 0.005, w * 20.0, w);
    // The fastest of three: one factorisation is short enough (ms at 768) for a single run to be noise.
    double chol = seconds_of([&] { (void)at::linalg_cholesky(h); });
    for (int rep = 0; rep < 2; ++rep) chol = std::min(chol, seconds_of([&] { (void)at::linalg_cholesky(h); }));
    oacim::quant::LayerQuantOptions g;
    g.method = oacim::quant::Method::Gptq;
    oacim::quant::LayerQuantOptions o;
    o.method = oacim::quant::Method::Oa;
    o.outliers = true;
    o.offsets = true;
    const double tg = seconds_of([&] { (void)oacim::quant::quantize_layer("bench", w, h, g); });
    const double to = seconds_of([&] { (void)oacim::quant::quantize_layer("bench", w, h, o); });
    std::printf("%-12s %10.3f %10.3f %10.3f %12.1f %12.1f %8.2f\n", (std::to_string(rows) + "x" + std::to_string(cols)).c_str(),
                chol, tg, to, tg / chol, to / chol, to / tg);
    std::fflush(stdout);
  }
  return 0;
}
