#include "oacim/core/quant_grid.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim {

std::string to_string(CodeKind kind) { return kind == CodeKind::Signed ? "signed" : "unsigned"; }

CodeKind code_kind_from_string(const std::string& text, const std::string& key) {
  if (text == "signed" || text == "sym") return CodeKind::Signed;
  if (text == "unsigned" || text == "asym") return CodeKind::Unsigned;
  throw InvalidArgument(key, fmt::format("'{}' is not a code kind (expected signed|unsigned)", text));
}

void GridSpec::validate() const {
  if (bits < 2 || bits > 8) throw InvalidArgument("bits", fmt::format("{} is outside 2..8", bits));
  if (block_size < 4 || block_size % 4 != 0) {
    throw InvalidArgument("block_size", fmt::format("{} must be a positive multiple of 4 (quads)", block_size));
  }
  if (offsets_in_cell && bits >= 4) {
    throw InvalidArgument("offsets_in_cell", fmt::format("{}-bit codes fill the 4-bit cell: no room for offsets in the cell", bits));
  }
}

GridParams fit_minmax(float xmin, float xmax, const GridSpec& spec) {
  GridParams p;
  if (!(xmin <= xmax) || !std::isfinite(xmin) || !std::isfinite(xmax)) {
    throw InvalidArgument("range", fmt::format("[{}, {}] is not a finite range", xmin, xmax));
  }
  const float maxq = static_cast<float>(spec.levels_minus_one());
  if (xmin == xmax) {
    // Upstream sets scale = xmin, zero = 1, which breaks at 0 and gives negative scales. Instead
    // pick |v| as the step and a zero for which v is exactly one code: 0 (signed) or 1 (unsigned).
    p.scale = xmin != 0.0f ? std::fabs(xmin) : 1.0f;
    p.zero = spec.is_signed() ? 0.0f : (xmin < 0.0f ? 1.0f : 0.0f);
    return p;
  }
  p.scale = (xmax - xmin) / maxq;
  if (spec.is_signed()) {
    p.zero = std::nearbyint(-(xmax + xmin) / (2.0f * p.scale));
  } else {
    p.zero = std::nearbyint(-xmin / p.scale);
  }
  return p;
}

namespace {
float unclamped_code(float x, const GridParams& p, int offset) {
  return std::nearbyint(x / std::max(p.scale, 1e-9f) + p.zero + static_cast<float>(offset));
}
}  // namespace

int quantize_code(float x, const GridParams& p, int offset, const GridSpec& spec) {
  const float q = unclamped_code(x, p, offset);
  const int shift = spec.offsets_in_cell ? offset : 0;  // the range moves with the offset: nothing clips
  const float lo = static_cast<float>(spec.code_min() + shift);
  const float hi = static_cast<float>(spec.code_max() + shift);
  return static_cast<int>(std::min(std::max(q, lo), hi));
}

bool is_clipped(float x, const GridParams& p, int offset, const GridSpec& spec) {
  const float q = unclamped_code(x, p, offset);
  const int shift = spec.offsets_in_cell ? offset : 0;
  return q < static_cast<float>(spec.code_min() + shift) || q > static_cast<float>(spec.code_max() + shift);
}

float dequantize_code(int q, const GridParams& p, int offset) {
  return p.scale * ((static_cast<float>(q) - p.zero) - static_cast<float>(offset));
}

std::string to_string(RangeRule rule) {
  switch (rule) {
    case RangeRule::MinMax: return "minmax";
    case RangeRule::ZeroInclusive: return "zero-inclusive";
    case RangeRule::ZeroSymmetric: return "zero-symmetric";
  }
  return "?";
}

RangeRule range_rule_from_string(const std::string& text, const std::string& key) {
  if (text == "minmax") return RangeRule::MinMax;
  if (text == "zero-inclusive") return RangeRule::ZeroInclusive;
  if (text == "zero-symmetric") return RangeRule::ZeroSymmetric;
  throw InvalidArgument(key, fmt::format("'{}' is not a range rule (expected minmax|zero-inclusive|zero-symmetric)", text));
}

void RangeOptions::validate() const {
  if (!mse) return;
  if (!(norm > 0.0f) || !std::isfinite(norm)) throw InvalidArgument("mse_norm", fmt::format("{} must be positive", norm));
  if (grid < 1 || grid > 10000) throw InvalidArgument("mse_grid", fmt::format("{} is outside 1..10000", grid));
  if (!(maxshrink > 0.0f && maxshrink < 1.0f)) {
    throw InvalidArgument("mse_maxshrink", fmt::format("{} is outside (0, 1)", maxshrink));
  }
}

GridParams fit_range_params(float xmin, float xmax, const GridSpec& spec, RangeRule rule) {
  if (rule == RangeRule::MinMax) return fit_minmax(xmin, xmax, spec);
  if (!(xmin <= xmax) || !std::isfinite(xmin) || !std::isfinite(xmax)) {
    throw InvalidArgument("range", fmt::format("[{}, {}] is not a finite range", xmin, xmax));
  }
  const float maxq = static_cast<float>(spec.levels_minus_one());
  xmin = std::min(xmin, 0.0f);
  xmax = std::max(xmax, 0.0f);
  if (rule == RangeRule::ZeroSymmetric) {
    xmax = std::max(-xmin, xmax);
    if (xmin < 0.0f) xmin = -xmax;
  }
  if (xmin == 0.0f && xmax == 0.0f) {
    xmin = -1.0f;
    xmax = 1.0f;
  }
  GridParams p;
  p.scale = (xmax - xmin) / maxq;
  // GPTQ's zero lives in unsigned codes [0, maxq]; signed codes are the same grid shifted by code_min.
  const float unsigned_zero = rule == RangeRule::ZeroSymmetric ? (maxq + 1.0f) / 2.0f : std::nearbyint(-xmin / p.scale);
  p.zero = unsigned_zero + static_cast<float>(spec.code_min());
  return p;
}

GridParams fit_range(const float* x, int n, std::size_t stride, const GridSpec& spec, const RangeOptions& options,
                     const float* range_override) {
  float lo = range_override ? range_override[0] : INFINITY;
  float hi = range_override ? range_override[1] : -INFINITY;
  if (!range_override) {
    for (int i = 0; i < n; ++i) {
      lo = std::min(lo, x[static_cast<std::size_t>(i) * stride]);
      hi = std::max(hi, x[static_cast<std::size_t>(i) * stride]);
    }
  }
  GridParams best = fit_range_params(lo, hi, spec, options.rule);
  if (!options.mse) return best;
  auto error_of = [&](const GridParams& p) {
    double e = 0.0;
    for (int i = 0; i < n; ++i) {
      const float v = x[static_cast<std::size_t>(i) * stride];
      e += std::pow(std::fabs(static_cast<double>(dequantize_code(quantize_code(v, p, 0, spec), p, 0)) - v), options.norm);
    }
    return e;
  };
  double best_err = error_of(best);
  const int steps = static_cast<int>(options.maxshrink * static_cast<float>(options.grid));
  for (int i = 1; i < steps; ++i) {
    const float shrink = 1.0f - static_cast<float>(i) / static_cast<float>(options.grid);
    GridParams p = fit_range_params(shrink * lo, shrink * hi, spec, options.rule);
    if (options.rule == RangeRule::ZeroSymmetric) p.zero = best.zero;  // the mid code does not move
    const double e = error_of(p);
    if (e < best_err) {
      best_err = e;
      best = p;
    }
  }
  return best;
}

int num_blocks(int cols, int block_size) { return (cols + block_size - 1) / block_size; }

BlockRange block_range(int block, int cols, int block_size) {
  const int begin = block * block_size;
  return BlockRange{begin, std::min(begin + block_size, cols)};
}

}  // namespace oacim
