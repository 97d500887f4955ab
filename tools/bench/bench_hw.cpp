// Benchmark of the fast bit-accurate datapath against an fp32 at::matmul of the same shape, in
// the same process: each iteration runs the matmul and then the datapath, so both see the same
// machine state (the development machine is shared and its speed drifts); x_matmul is the ratio
// of their medians (issue 21 target: <= 0.5x). Shapes (out x in): 768x768, 2048x2048, 11008x4096,
// T = 128 tokens, default hw config, RTN weights with outliers and offsets. When the kernel is the
// integer (VNNI) one, the same layer on the fp32 AVX-512 kernel is timed in the same iteration
// too (x_fp32_kernel): what the integer kernel is worth, side by side. The same datapath without
// its activity counters (FastDatapath::set_activity_counters(false)) runs in the same iteration
// as well: "counters overhead" is the median time with them over the median time without.
// OpenBLAS and OpenMP workers spin after a matmul and would steal the cores from the datapath's
// threads: the benchmark starts again with the product's BLAS environment (bench_baseline.hpp).
#include <benchmark/benchmark.h>

#include "bench_baseline.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn.h>

#include "oacim/core/rng.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/hw/hw_config.hpp"

namespace {

constexpr int kTokens = 128;
int g_threads = 2;
oacim::hw::FastKernel g_kernel = oacim::hw::FastKernel::Auto;

struct Row {
  double hw_ms, matmul_ms, fp32_kernel_ms;  // fp32_kernel_ms 0: not measured
  double no_activity_ms;                    // the same datapath without the activity counters
};
std::map<std::pair<int, int>, Row>& rows() {
  static std::map<std::pair<int, int>, Row> m;
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::vector<float> x_warm(int in) { return std::vector<float>(static_cast<std::size_t>(kTokens) * in, 0.5f); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_hw_vs_matmul(benchmark::State& state) {
  const int out = static_cast<int>(state.range(0));
  const int in = static_cast<int>(state.range(1));
  at::set_num_threads(g_threads);
  oacim::Rng rng(1);
  std::vector<float> w(static_cast<std::size_t>(out) * in);
  for (auto& v : w) v = static_cast<float>(0.02 * rng.student_t(4));
  oacim::RtnPackOptions opts;
  opts.outliers = true;
  opts.offsets = true;
  const oacim::PackedCimWeights packed = oacim::pack_rtn(w, out, in, opts, nullptr);
  const oacim::hw::HwConfig cfg = oacim::hw::default_hw_config();
  const oacim::hw::FastDatapath fast(oacim::hw::prepare_layer_weights(packed, cfg), cfg, g_kernel);
  std::unique_ptr<oacim::hw::FastDatapath> fp32_kernel;
  if (fast.integer_kernel()) {
    fp32_kernel = std::make_unique<oacim::hw::FastDatapath>(oacim::hw::prepare_layer_weights(packed, cfg), cfg,
                                                            oacim::hw::FastKernel::Avx512);
    fp32_kernel->forward(x_warm(in).data(), kTokens, g_threads);
  }
  oacim::hw::FastDatapath no_activity(oacim::hw::prepare_layer_weights(packed, cfg), cfg, g_kernel);
  no_activity.set_activity_counters(false);
  no_activity.forward(x_warm(in).data(), kTokens, g_threads);
  std::vector<float> x(static_cast<std::size_t>(kTokens) * in);
  for (auto& v : x) v = static_cast<float>(rng.normal());
  const at::Tensor xt = at::randn({kTokens, in});
  const at::Tensor wt = at::randn({in, out});
  at::Tensor y = at::matmul(xt, wt);  // warm-up of both
  fast.forward(x.data(), kTokens, g_threads);
  std::vector<double> hw_s, mm_s, f32_s, plain_s;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    y = at::matmul(xt, wt);
    benchmark::DoNotOptimize(y.data_ptr());
    mm_s.push_back(seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    const auto r = fast.forward(x.data(), kTokens, g_threads);
    benchmark::DoNotOptimize(r.y.data());
    hw_s.push_back(seconds_since(t0));
    state.SetIterationTime(hw_s.back());
    t0 = std::chrono::steady_clock::now();
    const auto rp = no_activity.forward(x.data(), kTokens, g_threads);
    benchmark::DoNotOptimize(rp.y.data());
    plain_s.push_back(seconds_since(t0));
    if (fp32_kernel) {
      t0 = std::chrono::steady_clock::now();
      const auto r32 = fp32_kernel->forward(x.data(), kTokens, g_threads);
      benchmark::DoNotOptimize(r32.y.data());
      f32_s.push_back(seconds_since(t0));
    }
  }
  const Row row{median(hw_s) * 1e3, median(mm_s) * 1e3, median(f32_s) * 1e3, median(plain_s) * 1e3};
  rows()[{out, in}] = row;
  state.counters["matmul_ms"] = row.matmul_ms;
  state.counters["x_matmul"] = row.hw_ms / row.matmul_ms;
  if (fp32_kernel) state.counters["x_fp32_kernel"] = row.fp32_kernel_ms / row.matmul_ms;
  state.counters["x_no_activity"] = row.hw_ms / row.no_activity_ms;
  state.counters["single_pass"] = fast.single_pass() ? 1 : 0;
  state.counters["folds_zeros"] = fast.folds_zeros() ? 1 : 0;
}

}  // namespace

BENCHMARK(BM_hw_vs_matmul)
    ->Args({768, 768})
    ->Args({2048, 2048})
    ->Args({11008, 4096})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::sscanf(argv[i], "--threads=%d", &g_threads) == 1) argv[i] = const_cast<char*>("");
    if (std::strncmp(argv[i], "--kernel=", 9) == 0) {
      g_kernel = oacim::enum_value(oacim::hw::fast_kernel_names(), argv[i] + 9, "--kernel");
      argv[i] = const_cast<char*>("");
    }
  }
  benchmark::Initialize(&argc, argv);
  oacim::bench::prepare_blas_baseline(argv, "bench_hw");
  std::printf("oacim bench_hw: T=%d tokens, %d threads, kernel %s; x_matmul = median hw time / median fp32 at::matmul "
              "time\n",
              kTokens, g_threads, oacim::hw::to_string(g_kernel).c_str());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\n%-14s %10s %12s %10s %16s %18s\n", "layer out x in", "hw ms", "matmul ms", "x_matmul",
              "counters overhead", "fp32 kernel x");
  for (const auto& [shape, r] : rows()) {
    std::printf("%5d x %-6d %10.2f %12.2f %10.2f %16.1f%%", shape.first, shape.second, r.hw_ms, r.matmul_ms,
                r.hw_ms / r.matmul_ms, 100.0 * (r.hw_ms / r.no_activity_ms - 1.0));
    if (r.fp32_kernel_ms > 0) std::printf(" %18.2f", r.fp32_kernel_ms / r.matmul_ms);
    std::printf("\n");
  }
  return 0;
}
