// Benchmark of the fast bit-accurate datapath against an fp32 at::matmul of the same shape, run in
// the same process: prints the hw/matmul time ratio per layer shape (issue target: <= 3x).
// Shapes: 768x768, 2048x2048, 4096x11008 (out x in), T = 128 tokens, default hw config.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
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

struct Shape {
  int out;
  int in;
};

std::map<std::pair<int, int>, double>& baselines() {
  static std::map<std::pair<int, int>, double> m;
  return m;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// fp32 [T, in] x [in, out] through libtorch: the rate the machine's BLAS gives the same shape.
void BM_matmul_fp32(benchmark::State& state) {
  const Shape s{static_cast<int>(state.range(0)), static_cast<int>(state.range(1))};
  at::set_num_threads(g_threads);
  const at::Tensor x = at::randn({kTokens, s.in});
  const at::Tensor w = at::randn({s.in, s.out});
  at::Tensor y = at::matmul(x, w);  // warm-up
  double total = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    y = at::matmul(x, w);
    benchmark::DoNotOptimize(y.data_ptr());
    const double dt = seconds_since(t0);
    state.SetIterationTime(dt);
    total += dt;
  }
  baselines()[{s.out, s.in}] = total / static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * kTokens * s.in * s.out * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

void BM_hw_fast(benchmark::State& state) {
  const Shape s{static_cast<int>(state.range(0)), static_cast<int>(state.range(1))};
  oacim::Rng rng(1);
  std::vector<float> w(static_cast<std::size_t>(s.out) * s.in);
  for (auto& v : w) v = static_cast<float>(0.02 * rng.student_t(4));
  oacim::RtnPackOptions opts;
  opts.outliers = true;
  opts.offsets = true;
  const oacim::PackedCimWeights packed = oacim::pack_rtn(w, s.out, s.in, opts, nullptr);
  const oacim::hw::HwConfig cfg = oacim::hw::default_hw_config();
  const oacim::hw::FastDatapath fast(oacim::hw::prepare_layer_weights(packed, cfg), cfg);
  std::vector<float> x(static_cast<std::size_t>(kTokens) * s.in);
  for (auto& v : x) v = static_cast<float>(rng.normal());
  double total = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = fast.forward(x.data(), kTokens, g_threads);
    benchmark::DoNotOptimize(r.y.data());
    const double dt = seconds_since(t0);
    state.SetIterationTime(dt);
    total += dt;
  }
  const double mean = total / static_cast<double>(state.iterations());
  const auto it = baselines().find({s.out, s.in});
  if (it != baselines().end()) state.counters["x_matmul"] = mean / it->second;
  state.counters["single_pass"] = fast.single_pass() ? 1 : 0;
}

void shapes(benchmark::internal::Benchmark* b) {
  b->Args({768, 768})->Args({2048, 2048})->Args({11008, 4096});
  b->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);
}

}  // namespace

// Baseline first so that the hw rows can print their ratio against it.
BENCHMARK(BM_matmul_fp32)->Apply(shapes);
BENCHMARK(BM_hw_fast)->Apply(shapes);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::sscanf(argv[i], "--threads=%d", &g_threads) == 1) argv[i] = const_cast<char*>("");
  }
  benchmark::Initialize(&argc, argv);
  std::printf("oacim bench_hw: T=%d tokens, %d threads; x_matmul = hw time / fp32 at::matmul time\n", kTokens,
              g_threads);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
