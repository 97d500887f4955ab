#include "oacim/core/rtn_packer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "oacim/core/bf16.hpp"
#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"

namespace oacim {

void RtnPackOptions::validate() const {
  grid.validate();
  if (grid.bits > kCellBits) {
    throw InvalidArgument("bits", fmt::format("{} exceeds the {}-bit CIM cell", grid.bits, kCellBits));
  }
  qq.validate(grid.bits);
  offset_search.validate(grid);
}

namespace {

struct Candidate {
  int outlier = kNoOutlier;  // column inside the block
  float xmin = 0.0f;
  float xmax = 0.0f;
};

// Squared RTN error of w[begin, end) skipping the quad starting at `skip` (-1: none), on the grid
// fitted to [xmin, xmax].
double rtn_error(const float* w, int n, int skip, float xmin, float xmax, const GridSpec& grid) {
  const GridParams gp = fit_minmax(xmin, xmax, grid);
  double e = 0.0;
  for (int c = 0; c < n; ++c) {
    if (skip >= 0 && c >= skip && c < skip + 4) continue;
    const double d = static_cast<double>(w[c]) - dequantize_code(quantize_code(w[c], gp, 0, grid), gp, 0);
    e += d * d;
  }
  return e;
}

// Picks the candidate of one block row: no outlier (grid over the whole row), or an outlier at
// column c with the grid fitted to the columns outside c's quad. Ties go to "no outlier", then to
// the lowest column, as upstream's argmin.
Candidate choose_candidate(const float* w, int n, const GridSpec& grid, bool outliers) {
  const auto mm = std::minmax_element(w, w + n);
  Candidate best{kNoOutlier, *mm.first, *mm.second};
  if (!outliers || n <= 4) return best;
  double best_err = rtn_error(w, n, -1, best.xmin, best.xmax, grid);
  for (int q0 = 0; q0 < n; q0 += 4) {
    float lo = INFINITY;
    float hi = -INFINITY;
    double victims = 0.0;
    for (int c = 0; c < n; ++c) {
      if (c >= q0 && c < q0 + 4) {
        victims += static_cast<double>(w[c]) * w[c];
        continue;
      }
      lo = std::min(lo, w[c]);
      hi = std::max(hi, w[c]);
    }
    const double rest = rtn_error(w, n, q0, lo, hi, grid);
    for (int c = q0; c < q0 + 4; ++c) {
      const double own = static_cast<double>(w[c]) - round_to_bf16(w[c]);
      const double err = rest + victims - static_cast<double>(w[c]) * w[c] + own * own;
      if (err < best_err) {
        best_err = err;
        best = Candidate{c, lo, hi};
      }
    }
  }
  return best;
}

}  // namespace

PackStats compare_weights(const std::vector<float>& reference, const std::vector<float>& approx) {
  PackStats s;
  double num = 0.0;
  double den = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double d = static_cast<double>(reference[i]) - approx[i];
    num += d * d;
    den += static_cast<double>(reference[i]) * reference[i];
    s.max_abs_error = std::max(s.max_abs_error, std::fabs(d));
  }
  s.mse = reference.empty() ? 0.0 : num / static_cast<double>(reference.size());
  s.relative_error = den > 0.0 ? std::sqrt(num / den) : 0.0;
  s.sqnr_db = num > 0.0 ? 10.0 * std::log10(den / num) : std::numeric_limits<double>::infinity();
  return s;
}

PackedCimWeights pack_rtn(const std::vector<float>& weights, int rows, int cols, const RtnPackOptions& options,
                          PackStats* stats) {
  options.validate();
  if (rows <= 0 || cols <= 0 || cols % 4 != 0) {
    throw InvalidArgument("shape", fmt::format("{}x{}: rows must be positive and cols a positive multiple of 4", rows, cols));
  }
  if (weights.size() != static_cast<std::size_t>(rows) * cols) {
    throw InvalidArgument("weights", fmt::format("{} values for a {}x{} matrix", weights.size(), rows, cols));
  }
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i])) {
      throw InvalidArgument("weights", fmt::format("non-finite value at row {} column {}", i / cols, i % cols));
    }
  }
  const GridSpec& grid = options.grid;
  const int nb = num_blocks(cols, grid.block_size);

  PackedCimParts p;
  p.rows = rows;
  p.cols = cols;
  p.grid = grid;
  p.qq = options.qq;
  p.offset_sign = options.offset_search.sign;
  p.codes.assign(static_cast<std::size_t>(rows) * cols, 0);
  p.offsets.assign(static_cast<std::size_t>(cols), 0);
  p.outlier_col.assign(static_cast<std::size_t>(rows) * nb, static_cast<std::int16_t>(kNoOutlier));
  p.outlier_value.assign(static_cast<std::size_t>(rows) * nb, Bf16());

  // Per (row, block): the outlier candidate and the grid of the cells, then the second level.
  std::vector<float>& scales = p.scales;
  std::vector<float>& zeros = p.zeros;
  scales.assign(static_cast<std::size_t>(rows) * nb, 0.0f);
  zeros.assign(static_cast<std::size_t>(rows) * nb, 0.0f);
  for (int r = 0; r < rows; ++r) {
    for (int b = 0; b < nb; ++b) {
      const BlockRange br = block_range(b, cols, grid.block_size);
      const std::size_t bi = static_cast<std::size_t>(r) * nb + b;
      const float* w = &weights[static_cast<std::size_t>(r) * cols + br.begin];
      const Candidate cand = choose_candidate(w, br.size(), grid, options.outliers);
      const GridParams gp = fit_minmax(cand.xmin, cand.xmax, grid);
      scales[bi] = gp.scale;
      zeros[bi] = gp.zero;
      p.outlier_col[bi] = static_cast<std::int16_t>(cand.outlier);
      if (cand.outlier != kNoOutlier) p.outlier_value[bi] = Bf16::from_float(w[cand.outlier]);
    }
  }
  // Scales and zeros go through the same second level; the stored values become the dequantized ones.
  auto second_level = [&](std::vector<float>& values, int bits, bool sym, std::vector<std::uint8_t>& codes,
                          std::vector<float>& qq_scale, std::vector<float>& qq_zero) {
    auto sl = quantize_second_level(values, rows, nb, bits, sym, options.qq.group_size);
    codes = std::move(sl.codes);
    qq_scale = std::move(sl.qq_scale);
    qq_zero = std::move(sl.qq_zero);
    values = std::move(sl.values);
  };
  if (options.qq.quantize_scales()) {
    second_level(scales, options.qq.scale_bits, false, p.scale_codes, p.scale_qq_scale, p.scale_qq_zero);
  }
  if (options.qq.quantize_zeros()) {
    second_level(zeros, options.qq.zero_bits, options.qq.zero_sym, p.zero_codes, p.zero_qq_scale, p.zero_qq_zero);
  }

  // Codes of every cell with the current offsets; outlier quads hold 0 in their cells.
  auto run_pass = [&]() {
    for (int r = 0; r < rows; ++r) {
      for (int b = 0; b < nb; ++b) {
        const BlockRange br = block_range(b, cols, grid.block_size);
        const std::size_t bi = static_cast<std::size_t>(r) * nb + b;
        const GridParams gp{scales[bi], zeros[bi]};
        const int oc = p.outlier_col[bi];
        for (int c = br.begin; c < br.end; ++c) {
          const std::size_t wi = static_cast<std::size_t>(r) * cols + c;
          const bool in_outlier_quad = oc != kNoOutlier && (c - br.begin) / 4 == oc / 4;
          p.codes[wi] = in_outlier_quad ? std::int8_t{0}
                                        : static_cast<std::int8_t>(quantize_code(weights[wi], gp,
                                                                                 p.offsets[static_cast<std::size_t>(c)], grid));
        }
      }
    }
  };
  run_pass();
  std::int64_t clipped = 0;
  if (options.offsets) {
    // Offsets are chosen from the cells that hold codes (outlier quads hold BF16 patterns).
    const OffsetSearch search(grid, options.offset_search);
    const bool error_aware = options.offset_search.error_weight > 0.0;
    std::vector<std::vector<int>> columns(static_cast<std::size_t>(cols));
    std::vector<std::vector<double>> costs(static_cast<std::size_t>(cols));
    double total_sq = 0.0;  // the first pass's squared error over the code cells (error-aware only)
    std::int64_t cells = 0;
    for (int c = 0; c < cols; ++c) {
      const int b = c / grid.block_size;
      std::vector<double> values;
      std::vector<GridParams> grids;
      for (int r = 0; r < rows; ++r) {
        const int oc = p.outlier_col[static_cast<std::size_t>(r) * nb + b];
        if (oc != kNoOutlier && (b * grid.block_size + oc) / 4 == c / 4) continue;
        const std::size_t wi = static_cast<std::size_t>(r) * cols + c;
        columns[static_cast<std::size_t>(c)].push_back(p.codes[wi]);
        if (error_aware) {
          const std::size_t bi = static_cast<std::size_t>(r) * nb + b;
          const GridParams gp{scales[bi], zeros[bi]};
          const double e = weights[wi] - dequantize_code(p.codes[wi], gp, 0);
          total_sq += e * e;
          ++cells;
          values.push_back(weights[wi]);
          grids.push_back(gp);
        }
      }
      if (error_aware) costs[static_cast<std::size_t>(c)] = search.error_costs(values, grids, 1.0);
    }
    const double mean_sq = std::max(total_sq / static_cast<double>(std::max<std::int64_t>(cells, 1)), 1e-300);
    for (int c = 0; c < cols; ++c) {
      for (double& v : costs[static_cast<std::size_t>(c)]) v /= mean_sq;
      const OffsetChoice choice =
          search.choose(columns[static_cast<std::size_t>(c)], error_aware ? &costs[static_cast<std::size_t>(c)] : nullptr);
      p.offsets[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(choice.offset);
      clipped += choice.clipped;
    }
    run_pass();
  }
  PackedCimWeights packed(std::move(p));
  if (stats != nullptr) {
    *stats = compare_weights(weights, packed.dequantize());
    stats->outliers = packed.outlier_count();
    stats->clipped_by_offsets = clipped;
  }
  return packed;
}

}  // namespace oacim
