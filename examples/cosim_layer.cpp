// Co-simulate one packed layer on the SystemC accelerator and check it bit for bit against the
// fast datapath model. Links oacim::sim.
#include <cstdio>
#include <random>
#include <vector>

#include "oacim/sim.hpp"

int main() {
  const int rows = 64, cols = 64, tokens = 3;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> w(rows * cols), x(tokens * cols);
  for (float& v : w) v = normal(rng);
  for (float& v : x) v = normal(rng) * 10.0f;
  const oacim::PackedCimWeights packed = oacim::pack_rtn(w, rows, cols, oacim::RtnPackOptions{});
  const oacim::hw::HwConfig cfg = oacim::hw::default_hw_config();

  const auto sim = oacim::sim::run_cosim(cfg, {{&packed, x, tokens}});
  const oacim::hw::FastDatapath model(oacim::hw::prepare_layer_weights(packed, cfg), cfg);
  const oacim::hw::HwLayerResult expected = model.forward(x.data(), tokens);
  const auto cmp = oacim::sim::compare_outputs(sim[0].y, sim[0].counters, expected.y, expected.counters, cfg.output_format);
  std::printf("SystemC: %s, %lld compute cycles, %lld of %lld outputs differ\n", sim[0].ok ? "accepted" : sim[0].error.c_str(),
              static_cast<long long>(sim[0].compute_cycles), static_cast<long long>(cmp.mismatches),
              static_cast<long long>(cmp.outputs));
  return sim[0].ok && cmp.bit_exact() ? 0 : 1;
}
