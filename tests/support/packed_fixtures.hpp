#pragma once
// Small hand-made PackedCimWeights parts for tests: 4 rows x 44 columns, block 32 (ragged second
// block of 12), one outlier at row 1 column 5 (quad 1 of block 0) and one at row 3 column 40; and
// the worked example of docs/hardware.md (one row, one block of 8 columns, codes 3 -8 7 2, an
// outlier at column 6 gating quad 1) with its token's 8 inputs.
#include "oacim/core/packed_cim_weights.hpp"

namespace oacim::test {

inline PackedCimParts small_parts() {
  PackedCimParts p;
  p.rows = 4;
  p.cols = 44;
  p.grid = GridSpec{4, CodeKind::Signed, 32};
  const int nb = 2;
  p.codes.resize(4 * 44);
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 44; ++c) p.codes[static_cast<std::size_t>(r * 44 + c)] = static_cast<std::int8_t>(((r * 7 + c * 3) % 16) - 8);
  }
  p.offsets.assign(44, 0);
  p.offsets[2] = 1;
  p.offsets[41] = -1;
  p.scales = {0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f, 0.08f};
  p.zeros = {0.0f, 1.0f, -1.0f, 2.0f, 0.0f, 0.0f, 3.0f, -2.0f};
  p.outlier_col.assign(static_cast<std::size_t>(4 * nb), static_cast<std::int16_t>(kNoOutlier));
  p.outlier_value.assign(static_cast<std::size_t>(4 * nb), Bf16());
  auto set_outlier = [&](int r, int b, int col_in_block, float v) {
    p.outlier_col[static_cast<std::size_t>(r * nb + b)] = static_cast<std::int16_t>(col_in_block);
    p.outlier_value[static_cast<std::size_t>(r * nb + b)] = Bf16::from_float(v);
    const int q0 = b * 32 + (col_in_block / 4) * 4;
    for (int c = q0; c < q0 + 4; ++c) p.codes[static_cast<std::size_t>(r * 44 + c)] = 0;
  };
  set_outlier(1, 0, 5, 1.75f);
  set_outlier(3, 1, 8, -0.5f);
  return p;
}

inline PackedCimWeights worked_example_weights() {
  PackedCimParts p;
  p.rows = 1;
  p.cols = 8;
  p.grid.block_size = 8;
  p.codes = {3, -8, 7, 2, 0, 0, 0, 0};
  p.offsets = {0, 1, -1, 0, 1, 0, 0, -1};
  p.scales = {0.01171875f};
  p.zeros = {1.0f};
  p.outlier_col = {6};
  p.outlier_value = {Bf16::from_float(0.15625f)};
  return PackedCimWeights(p);
}

inline constexpr float kWorkedExampleInputs[8] = {1.5f, -0.375f, 0.0078125f, 3.25f, 0.25f, -2.0f, 0.1015625f, 0.6875f};

}  // namespace oacim::test
