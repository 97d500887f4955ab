// Pack a matrix into the chip's INT4 format (RTN, outliers, offsets) and run it on the
// bit-accurate datapath; compare with the float product. Links oacim::core and oacim::hw only.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "oacim/hw.hpp"

int main() {
  const int rows = 64, cols = 128, tokens = 4;
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> w(rows * cols), x(tokens * cols);
  for (float& v : w) v = normal(rng);
  for (float& v : x) v = normal(rng) * 20.0f;

  oacim::RtnPackOptions opts;  // 4-bit codes, blocks of 32 columns
  opts.outliers = true;
  opts.offsets = true;
  const oacim::PackedCimWeights packed = oacim::pack_rtn(w, rows, cols, opts);
  const oacim::hw::HwConfig cfg = oacim::hw::default_hw_config();
  const oacim::hw::FastDatapath chip(oacim::hw::prepare_layer_weights(packed, cfg), cfg);
  const oacim::hw::HwLayerResult y = chip.forward(x.data(), tokens);

  double err = 0, ref = 0;
  for (int t = 0; t < tokens; ++t) {
    for (int r = 0; r < rows; ++r) {
      double exact = 0;
      for (int c = 0; c < cols; ++c) exact += double(w[r * cols + c]) * x[t * cols + c];
      err += std::pow(y.y[t * rows + r] - exact, 2);
      ref += exact * exact;
    }
  }
  std::printf("%d x %d layer, %d tokens on the %s kernel: relative error %.4f, %lld MACs, %lld outliers\n", rows, cols,
              tokens, oacim::hw::to_string(chip.kernel()).c_str(), std::sqrt(err / ref),
              static_cast<long long>(y.counters.macs), static_cast<long long>(packed.outlier_count()));
  return std::sqrt(err / ref) < 0.2 ? 0 : 1;
}
