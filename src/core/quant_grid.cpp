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
  const float lo = static_cast<float>(spec.code_min());
  const float hi = static_cast<float>(spec.code_max());
  return static_cast<int>(std::min(std::max(q, lo), hi));
}

bool is_clipped(float x, const GridParams& p, int offset, const GridSpec& spec) {
  const float q = unclamped_code(x, p, offset);
  return q < static_cast<float>(spec.code_min()) || q > static_cast<float>(spec.code_max());
}

float dequantize_code(int q, const GridParams& p, int offset) {
  return p.scale * ((static_cast<float>(q) - p.zero) - static_cast<float>(offset));
}

int num_blocks(int cols, int block_size) { return (cols + block_size - 1) / block_size; }

BlockRange block_range(int block, int cols, int block_size) {
  const int begin = block * block_size;
  return BlockRange{begin, std::min(begin + block_size, cols)};
}

}  // namespace oacim
