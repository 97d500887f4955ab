#include "oacim/core/block_grid.hpp"

#include <algorithm>
#include <cmath>

#include "oacim/core/error.hpp"

namespace oacim {

void BlockGridOptions::validate() const {
  grid.validate();
  range.validate();
  qq.validate(grid.bits);
}

namespace {

// Second level over the rows of one block column: the values become the dequantized ones.
void second_level(std::vector<float>& values, int rows, int bits, bool sym, int group_size,
                  std::vector<std::uint8_t>& codes, std::vector<float>& qq_scale, std::vector<float>& qq_zero) {
  SecondLevelResult sl = quantize_second_level(values, rows, 1, bits, sym, group_size);
  codes = std::move(sl.codes);
  qq_scale = std::move(sl.qq_scale);
  qq_zero = std::move(sl.qq_zero);
  values = std::move(sl.values);
}

}  // namespace

BlockGridFit fit_block(const float* w, int rows, int n, std::size_t row_stride, const BlockGridOptions& o,
                       const std::vector<float>* ranges) {
  BlockGridFit fit;
  fit.params.resize(static_cast<std::size_t>(rows));
  if (o.per_row) {
    for (int r = 0; r < rows; ++r) {
      const float* range = ranges ? &(*ranges)[static_cast<std::size_t>(2 * r)] : nullptr;
      fit.params[static_cast<std::size_t>(r)] = fit_range(w + static_cast<std::size_t>(r) * row_stride, n, 1, o.grid,
                                                          o.range, range);
    }
  } else {
    // One grid for the whole block: the range of all rows (MSE search over all values).
    float range[2] = {INFINITY, -INFINITY};
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < n; ++c) {
        const float v = w[static_cast<std::size_t>(r) * row_stride + c];
        range[0] = std::min(range[0], v);
        range[1] = std::max(range[1], v);
      }
      if (ranges) {
        range[0] = std::min(range[0], (*ranges)[static_cast<std::size_t>(2 * r)]);
        range[1] = std::max(range[1], (*ranges)[static_cast<std::size_t>(2 * r + 1)]);
      }
    }
    GridParams p;
    if (o.range.mse) {
      // The MSE search sees every value of the block once (rows are contiguous runs of n).
      std::vector<float> all;
      all.reserve(static_cast<std::size_t>(rows) * n);
      for (int r = 0; r < rows; ++r) all.insert(all.end(), w + static_cast<std::size_t>(r) * row_stride, w + static_cast<std::size_t>(r) * row_stride + n);
      p = fit_range(all.data(), static_cast<int>(all.size()), 1, o.grid, o.range, range);
    } else {
      p = fit_range_params(range[0], range[1], o.grid, o.range.rule);
    }
    std::fill(fit.params.begin(), fit.params.end(), p);
  }
  if (o.qq.quantize_scales() || o.qq.quantize_zeros()) {
    std::vector<float> scales(fit.params.size());
    std::vector<float> zeros(fit.params.size());
    for (std::size_t r = 0; r < fit.params.size(); ++r) {
      scales[r] = fit.params[r].scale;
      zeros[r] = fit.params[r].zero;
    }
    if (o.qq.quantize_scales()) {
      second_level(scales, rows, o.qq.scale_bits, false, o.qq.group_size, fit.scale_codes, fit.scale_qq_scale,
                   fit.scale_qq_zero);
    }
    if (o.qq.quantize_zeros()) {
      second_level(zeros, rows, o.qq.zero_bits, o.qq.zero_sym, o.qq.group_size, fit.zero_codes, fit.zero_qq_scale,
                   fit.zero_qq_zero);
    }
    for (std::size_t r = 0; r < fit.params.size(); ++r) fit.params[r] = GridParams{scales[r], zeros[r]};
  }
  return fit;
}

PackedCimParts empty_parts(int rows, int cols, const GridSpec& grid, const SecondLevelSpec& qq, OffsetSign sign) {
  PackedCimParts p;
  p.rows = rows;
  p.cols = cols;
  p.grid = grid;
  p.qq = qq;
  p.offset_sign = sign;
  const int nb = num_blocks(cols, grid.block_size);
  const std::size_t per_block = static_cast<std::size_t>(rows) * nb;
  const std::size_t per_group = static_cast<std::size_t>(num_groups(rows, qq.group_size)) * nb;
  p.codes.assign(static_cast<std::size_t>(rows) * cols, 0);
  p.offsets.assign(static_cast<std::size_t>(cols), 0);
  p.scales.assign(per_block, 1.0f);
  p.zeros.assign(per_block, 0.0f);
  if (qq.quantize_scales()) {
    p.scale_codes.assign(per_block, 0);
    p.scale_qq_scale.assign(per_group, 1.0f);
    p.scale_qq_zero.assign(per_group, 0.0f);
  }
  if (qq.quantize_zeros()) {
    p.zero_codes.assign(per_block, 0);
    p.zero_qq_scale.assign(per_group, 1.0f);
    p.zero_qq_zero.assign(per_group, 0.0f);
  }
  p.outlier_col.assign(per_block, static_cast<std::int16_t>(kNoOutlier));
  p.outlier_value.assign(per_block, Bf16());
  return p;
}

void store_block_fit(PackedCimParts& p, int b, const BlockGridFit& fit) {
  const int nb = num_blocks(p.cols, p.grid.block_size);
  const int groups = num_groups(p.rows, p.qq.group_size);
  if (b < 0 || b >= nb || fit.params.size() != static_cast<std::size_t>(p.rows)) {
    throw InvariantError("store_block_fit: block or row count does not match the parts");
  }
  for (int r = 0; r < p.rows; ++r) {
    const std::size_t i = static_cast<std::size_t>(r) * nb + b;
    p.scales[i] = fit.params[static_cast<std::size_t>(r)].scale;
    p.zeros[i] = fit.params[static_cast<std::size_t>(r)].zero;
    if (p.qq.quantize_scales()) p.scale_codes[i] = fit.scale_codes[static_cast<std::size_t>(r)];
    if (p.qq.quantize_zeros()) p.zero_codes[i] = fit.zero_codes[static_cast<std::size_t>(r)];
  }
  for (int g = 0; g < groups; ++g) {
    const std::size_t i = static_cast<std::size_t>(g) * nb + b;
    if (p.qq.quantize_scales()) {
      p.scale_qq_scale[i] = fit.scale_qq_scale[static_cast<std::size_t>(g)];
      p.scale_qq_zero[i] = fit.scale_qq_zero[static_cast<std::size_t>(g)];
    }
    if (p.qq.quantize_zeros()) {
      p.zero_qq_scale[i] = fit.zero_qq_scale[static_cast<std::size_t>(g)];
      p.zero_qq_zero[i] = fit.zero_qq_zero[static_cast<std::size_t>(g)];
    }
  }
}

}  // namespace oacim
