// SystemC throughput: simulated macro-cycles per wall second on the layer shapes, and the
// SystemC wall time as a ratio to the fast hw model on the same layer in the same process.
// SystemC elaborates once per process, so all shapes run in one co-simulation.
// "Macro-cycles" are simulated clock cycles of the compute phase (bit-plane passes plus the
// macro's cell rewrites between weight tiles); "bit-planes" counts only the passes.
// Each layer is co-simulated three times and the fast model called nine times; both sides report
// their fastest run (a shared machine's noise only ever adds time).
// Usage: bench_systemc [TOKENS]   (default 8 tokens per layer: throughput is per cycle)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "oacim/core/rng.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/hw/fast_datapath.hpp"
#include "oacim/sim/cosim.hpp"

int main(int argc, char** argv) {
  const int tokens = argc > 1 ? std::atoi(argv[1]) : 8;
  const int shapes[][2] = {{768, 768}, {2048, 2048}, {11008, 4096}};
  const oacim::hw::HwConfig cfg = oacim::hw::default_hw_config();
  std::vector<oacim::PackedCimWeights> layers;
  std::vector<std::vector<float>> inputs;
  std::vector<double> hw_seconds;
  oacim::Rng rng(7);
  for (const auto& s : shapes) {
    std::vector<float> w(static_cast<std::size_t>(s[0]) * s[1]);
    for (auto& v : w) v = static_cast<float>(0.02 * rng.student_t(4));
    oacim::RtnPackOptions o;
    o.outliers = true;
    o.offsets = true;
    layers.push_back(oacim::pack_rtn(w, s[0], s[1], o, nullptr));
    std::vector<float> x(static_cast<std::size_t>(tokens) * s[1]);
    for (auto& v : x) v = static_cast<float>(rng.normal());
    inputs.push_back(std::move(x));
    const oacim::hw::FastDatapath fast(oacim::hw::prepare_layer_weights(layers.back(), cfg), cfg);
    fast.forward(inputs.back().data(), tokens, 1);  // warm-up
    double best = 1e30;
    for (int r = 0; r < 9; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      fast.forward(inputs.back().data(), tokens, 1);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    hw_seconds.push_back(best);
  }
  std::vector<oacim::sim::CosimCase> cases;
  constexpr int kRepeats = 3;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    for (int rep = 0; rep < kRepeats; ++rep) cases.push_back({&layers[i], inputs[i], tokens});
  }
  const auto all = oacim::sim::run_cosim(cfg, cases);
  std::vector<oacim::sim::CosimResult> results;  // the fastest of each layer's runs (same cycles and bits)
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto first = all.begin() + static_cast<std::ptrdiff_t>(i * kRepeats);
    results.push_back(*std::min_element(first, first + kRepeats, [](const auto& a, const auto& b) {
      return a.wall_seconds < b.wall_seconds;
    }));
  }
  std::printf("bench_systemc: default hw config, %d tokens per layer, 1 host thread, fastest of %d runs (hw model: of 9)\n",
              tokens, kRepeats);
  std::printf("%-12s %14s %12s %9s %16s %14s %11s\n", "layer", "macro-cycles", "bit-planes", "wall s",
              "macro-cycles/s", "bit-planes/s", "x hw model");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const double cycles = static_cast<double>(r.compute_cycles);
    const double planes = static_cast<double>(r.counters.input_bitplanes);
    std::printf("%5dx%-6d %14.0f %12.0f %9.4f %16.0f %14.0f %11.1f\n", shapes[i][0], shapes[i][1], cycles, planes,
                r.wall_seconds, cycles / r.wall_seconds, planes / r.wall_seconds, r.wall_seconds / hw_seconds[i]);
  }
  return 0;
}
