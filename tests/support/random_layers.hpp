#pragma once
// Seeded random layers and activations for datapath tests: arbitrary codes (extremes included),
// offsets, non-integer zeros, outliers anywhere in a block, ragged last blocks, and activations
// spanning many binades with zeros, tiny values and the occasional huge one.
#include <cmath>
#include <vector>

#include "oacim/core/packed_cim_weights.hpp"
#include "oacim/core/rng.hpp"

namespace oacim::test {

struct RandomLayerSpec {
  int rows = 16;
  int cols = 64;
  int block_size = 32;
  int bits = 4;  // code bits (narrower signed codes are sign-extended in their 4-bit cells)
  bool offsets_in_cell = false;  // cells hold q + o in the 4-bit range (codes narrower than the cell)
  CodeKind kind = CodeKind::Signed;
  double outlier_rate = 0.3;  // share of (row, block) with an outlier
  int max_offset = 1;
  bool extreme_codes = false;  // codes only at the grid's ends (drives adder trees to their bounds)
};

inline PackedCimWeights random_layer(const RandomLayerSpec& s, std::uint64_t seed) {
  Rng rng(seed);
  PackedCimParts p;
  p.rows = s.rows;
  p.cols = s.cols;
  p.grid.bits = s.bits;
  p.grid.kind = s.kind;
  p.grid.block_size = s.block_size;
  p.grid.offsets_in_cell = s.offsets_in_cell;
  const int nb = num_blocks(s.cols, s.block_size);
  const int lo = p.grid.stored_min();  // what a cell may hold
  const int hi = p.grid.stored_max();
  auto uniform_int = [&](int a, int b) { return a + static_cast<int>(rng.uniform() * (b - a + 1)) % (b - a + 1); };
  p.codes.resize(static_cast<std::size_t>(s.rows) * s.cols);
  for (auto& q : p.codes) {
    q = static_cast<std::int8_t>(s.extreme_codes ? (rng.uniform() < 0.5 ? lo : hi) : uniform_int(lo, hi));
  }
  p.offsets.resize(s.cols);
  for (auto& o : p.offsets) {
    o = static_cast<std::int8_t>(uniform_int(-s.max_offset, s.max_offset));
    if (s.offsets_in_cell) o = static_cast<std::int8_t>(std::clamp<int>(o, p.grid.in_cell_offset_min(), p.grid.in_cell_offset_max()));
  }
  p.scales.resize(static_cast<std::size_t>(s.rows) * nb);
  p.zeros.resize(p.scales.size());
  for (auto& v : p.scales) v = static_cast<float>(std::ldexp(0.5 + rng.uniform(), -6 - uniform_int(0, 4)));
  for (auto& v : p.zeros) v = static_cast<float>(uniform_int(p.grid.code_min(), p.grid.code_max()));
  p.outlier_col.assign(p.scales.size(), kNoOutlier);
  p.outlier_value.assign(p.scales.size(), Bf16());
  for (int r = 0; r < s.rows; ++r) {
    for (int b = 0; b < nb; ++b) {
      if (rng.uniform() >= s.outlier_rate) continue;
      const BlockRange br = block_range(b, s.cols, s.block_size);
      const int oc = uniform_int(0, br.size() - 1);
      const std::size_t i = static_cast<std::size_t>(r) * nb + b;
      p.outlier_col[i] = static_cast<std::int16_t>(oc);
      p.outlier_value[i] = Bf16::from_float(static_cast<float>(rng.normal() * 0.5));
      const int q0 = br.begin + (oc / 4) * 4;
      for (int c = q0; c < q0 + 4; ++c) p.codes[static_cast<std::size_t>(r) * s.cols + c] = 0;
    }
  }
  return PackedCimWeights(std::move(p));
}

inline std::vector<float> random_activations(int tokens, int cols, std::uint64_t seed, double zero_rate = 0.05) {
  Rng rng(seed);
  std::vector<float> x(static_cast<std::size_t>(tokens) * cols);
  for (auto& v : x) {
    const double u = rng.uniform();
    if (u < zero_rate) {
      v = 0.0f;
    } else if (u < zero_rate + 0.02) {
      v = static_cast<float>(rng.normal() * 1e-39);  // bf16 subnormals
    } else if (u < zero_rate + 0.03) {
      v = static_cast<float>(rng.normal() * 300.0);  // LLM activation outliers
    } else {
      v = static_cast<float>(rng.normal() * std::ldexp(1.0, static_cast<int>(rng.uniform() * 12) - 8));
    }
  }
  return x;
}

}  // namespace oacim::test
