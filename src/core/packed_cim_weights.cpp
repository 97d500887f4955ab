#include "oacim/core/packed_cim_weights.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "oacim/core/cim_cell.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"

namespace oacim {

namespace {

[[noreturn]] void fail(const std::string& what) { throw InvariantError("PackedCimWeights: " + what); }

// Checks an invariant; the message (often a fmt::format over millions of checked elements) is
// only built when the check fails.
#define OACIM_REQUIRE(ok, what) \
  do {                          \
    if (!(ok)) fail(what);      \
  } while (0)

void require_size(std::size_t got, std::size_t want, const char* name) {
  OACIM_REQUIRE(got == want, fmt::format("{} has {} entries, expected {}", name, got, want));
}

// Checks that stored second-level parameters reproduce `values` exactly.
void check_second_level(const std::vector<std::uint8_t>& codes, const std::vector<float>& s,
                        const std::vector<float>& z, const std::vector<float>& values, int rows, int nb, int bits,
                        int group_size, const char* name) {
  const std::size_t groups = static_cast<std::size_t>(num_groups(rows, group_size));
  require_size(codes.size(), static_cast<std::size_t>(rows) * nb, name);
  require_size(s.size(), groups * nb, name);
  require_size(z.size(), groups * nb, name);
  for (std::size_t i = 0; i < codes.size(); ++i) {
    OACIM_REQUIRE(codes[i] <= (1 << bits) - 1, fmt::format("{} code {} at {} exceeds {} bits", name, codes[i], i, bits));
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    OACIM_REQUIRE(std::isfinite(s[i]) && round_to_fp16(s[i]) == s[i] && std::isfinite(z[i]) && round_to_fp16(z[i]) == z[i],
            fmt::format("{} group parameters at {} are not finite fp16 values", name, i));
  }
  const auto deq = dequantize_second_level(codes, s, z, rows, nb, group_size);
  for (std::size_t i = 0; i < deq.size(); ++i) {
    OACIM_REQUIRE(float_bits(deq[i]) == float_bits(values[i]),
            fmt::format("{} at {} is {} but its second-level code gives {}", name, i, values[i], deq[i]));
  }
}

}  // namespace

PackedCimWeights::PackedCimWeights(PackedCimParts parts) : p_(std::move(parts)) {
  OACIM_REQUIRE(p_.rows > 0 && p_.cols > 0, fmt::format("shape {}x{} is empty", p_.rows, p_.cols));
  try {
    p_.grid.validate();
    p_.qq.validate(p_.grid.bits);
  } catch (const InvalidArgument& e) {
    throw InvariantError(std::string("PackedCimWeights: ") + e.what());
  }
  nb_ = num_blocks(p_.cols, p_.grid.block_size);
  validate();
}

void PackedCimWeights::validate() const {
  const GridSpec& g = p_.grid;
  OACIM_REQUIRE(g.bits <= kCellBits, fmt::format("{}-bit codes do not fit the {}-bit cells", g.bits, kCellBits));
  OACIM_REQUIRE(p_.cols % 4 == 0, fmt::format("{} columns are not a whole number of quads", p_.cols));
  const std::size_t rc = static_cast<std::size_t>(p_.rows) * p_.cols;
  const std::size_t rb = static_cast<std::size_t>(p_.rows) * nb_;
  require_size(p_.codes.size(), rc, "codes");
  require_size(p_.offsets.size(), static_cast<std::size_t>(p_.cols), "offsets");
  require_size(p_.scales.size(), rb, "scales");
  require_size(p_.zeros.size(), rb, "zeros");
  require_size(p_.outlier_col.size(), rb, "outlier_col");
  require_size(p_.outlier_value.size(), rb, "outlier_value");

  for (std::size_t i = 0; i < rc; ++i) {
    OACIM_REQUIRE(p_.codes[i] >= g.stored_min() && p_.codes[i] <= g.stored_max(),
            fmt::format("code {} at row {} column {} is outside [{}, {}]", p_.codes[i], i / p_.cols, i % p_.cols,
                        g.stored_min(), g.stored_max()));
  }
  for (int c = 0; c < p_.cols; ++c) {
    const int o = p_.offsets[static_cast<std::size_t>(c)];
    OACIM_REQUIRE(std::abs(o) <= g.levels_minus_one(), fmt::format("offset {} of column {} is out of range", o, c));
    if (g.offsets_in_cell) {
      OACIM_REQUIRE(o >= g.in_cell_offset_min() && o <= g.in_cell_offset_max(),
              fmt::format("offset {} of column {} moves {}-bit codes out of the 4-bit cell", o, c, g.bits));
    }
  }
  int max_offset = 0;
  for (const auto o : p_.offsets) max_offset = std::max(max_offset, std::abs(static_cast<int>(o)));
  for (std::size_t i = 0; i < rb; ++i) {
    OACIM_REQUIRE(std::isfinite(p_.scales[i]) && p_.scales[i] >= 0.0f,
            fmt::format("scale {} at row {} block {} is not finite and non-negative", p_.scales[i], i / nb_, i % nb_));
    OACIM_REQUIRE(std::isfinite(p_.zeros[i]), fmt::format("zero at row {} block {} is not finite", i / nb_, i % nb_));
    // Every dequantized weight scale * (q - zero - o) must be finite too (a scale of FLT_MAX is not).
    const double span = std::max(std::fabs(g.code_min() - static_cast<double>(p_.zeros[i])),
                                 std::fabs(g.code_max() - static_cast<double>(p_.zeros[i]))) + max_offset;
    OACIM_REQUIRE(static_cast<double>(p_.scales[i]) * span <= std::numeric_limits<float>::max(),
            fmt::format("scale {} at row {} block {} makes its weights overflow fp32", p_.scales[i], i / nb_, i % nb_));
    if (!p_.qq.quantize_zeros() && !p_.fractional_zeros) {
      OACIM_REQUIRE(std::nearbyint(p_.zeros[i]) == p_.zeros[i],
              fmt::format("zero {} at row {} block {} is not an integer", p_.zeros[i], i / nb_, i % nb_));
    }
  }
  if (p_.qq.quantize_scales()) {
    check_second_level(p_.scale_codes, p_.scale_qq_scale, p_.scale_qq_zero, p_.scales, p_.rows, nb_,
                       p_.qq.scale_bits, p_.qq.group_size, "scales");
  } else {
    OACIM_REQUIRE(p_.scale_codes.empty() && p_.scale_qq_scale.empty() && p_.scale_qq_zero.empty(),
            "second-level scale data present but qq_scale_bits is 0");
  }
  if (p_.qq.quantize_zeros()) {
    check_second_level(p_.zero_codes, p_.zero_qq_scale, p_.zero_qq_zero, p_.zeros, p_.rows, nb_, p_.qq.zero_bits,
                       p_.qq.group_size, "zeros");
  } else {
    OACIM_REQUIRE(p_.zero_codes.empty() && p_.zero_qq_scale.empty() && p_.zero_qq_zero.empty(),
            "second-level zero data present but qq_zero_bits is 0");
  }

  for (int r = 0; r < p_.rows; ++r) {
    for (int b = 0; b < nb_; ++b) {
      const int oc = p_.outlier_col[bidx(r, b)];
      const Bf16 v = p_.outlier_value[bidx(r, b)];
      const BlockRange br = block_range(b, p_.cols, g.block_size);
      if (oc == kNoOutlier) {
        OACIM_REQUIRE(v.bits() == 0, fmt::format("row {} block {} has an outlier value but no outlier", r, b));
        continue;
      }
      OACIM_REQUIRE(oc >= 0 && oc < br.size(),
              fmt::format("outlier column {} of row {} block {} is outside the block's {} columns", oc, r, b,
                          br.size()));
      OACIM_REQUIRE(!v.is_nan() && !v.is_inf(), fmt::format("outlier of row {} block {} is not finite", r, b));
      const int quad_begin = br.begin + (oc / 4) * 4;
      for (int c = quad_begin; c < quad_begin + 4; ++c) {
        OACIM_REQUIRE(p_.codes[idx(r, c)] == 0,
                fmt::format("row {} column {} shares the outlier quad (victim) but holds code {}", r, c,
                            p_.codes[idx(r, c)]));
      }
    }
  }
}

GridParams PackedCimWeights::params(int r, int b) const {
  return GridParams{p_.scales[bidx(r, b)], p_.zeros[bidx(r, b)]};
}

int PackedCimWeights::outlier_column(int r, int b) const {
  const int oc = p_.outlier_col[bidx(r, b)];
  return oc == kNoOutlier ? kNoOutlier : b * p_.grid.block_size + oc;
}

bool PackedCimWeights::is_outlier_quad(int r, int quad) const {
  const int b = (quad * 4) / p_.grid.block_size;
  const int oc = outlier_column(r, b);
  return oc != kNoOutlier && oc / 4 == quad;
}

std::int64_t PackedCimWeights::outlier_count() const {
  std::int64_t n = 0;
  for (auto oc : p_.outlier_col) n += oc != kNoOutlier;
  return n;
}

std::uint16_t PackedCimWeights::packed_word(int r, int quad) const {
  if (is_outlier_quad(r, quad)) return outlier_value(r, (quad * 4) / p_.grid.block_size).bits();
  const std::size_t base = idx(r, quad * 4);
  return CodeQuad::from_codes({p_.codes[base], p_.codes[base + 1], p_.codes[base + 2], p_.codes[base + 3]}).word();
}

std::vector<std::uint16_t> PackedCimWeights::packed_words() const {
  // packed_word(r, m) for every quad, a row at a time: the codes' nibbles, then each block's
  // outlier quad overwritten by its BF16 word.
  const int quads = quads_per_row();
  std::vector<std::uint16_t> words(static_cast<std::size_t>(p_.rows) * quads);
  for (int r = 0; r < p_.rows; ++r) {
    std::uint16_t* row = words.data() + static_cast<std::size_t>(r) * quads;
    const std::int8_t* c = p_.codes.data() + idx(r, 0);
    for (int m = 0; m < quads; ++m) {
      row[m] = static_cast<std::uint16_t>((c[4 * m] & 0xF) | (c[4 * m + 1] & 0xF) << 4 | (c[4 * m + 2] & 0xF) << 8 |
                                          (c[4 * m + 3] & 0xF) << 12);
    }
    for (int b = 0; b < nb_; ++b) {
      const int oc = outlier_column(r, b);
      if (oc != kNoOutlier) row[oc / 4] = outlier_value(r, b).bits();
    }
  }
  return words;
}

float PackedCimWeights::dequantized(int r, int c) const {
  const int b = c / p_.grid.block_size;
  const int oc = outlier_column(r, b);
  if (oc != kNoOutlier) {
    if (oc == c) return outlier_value(r, b).to_float();
    if (oc / 4 == c / 4) return 0.0f;
  }
  return dequantize_code(code(r, c), params(r, b), offset(c));
}

std::vector<float> PackedCimWeights::dequantize() const {
  // dequantized(r, c) for every weight, a (row, block) at a time: its grid and outlier read once.
  std::vector<float> w(static_cast<std::size_t>(p_.rows) * p_.cols);
  for (int r = 0; r < p_.rows; ++r) {
    for (int b = 0; b < nb_; ++b) {
      const BlockRange br = block_range(b, p_.cols, p_.grid.block_size);
      const GridParams p = params(r, b);
      for (int c = br.begin; c < br.end; ++c) w[idx(r, c)] = dequantize_code(code(r, c), p, offset(c));
      const int oc = outlier_column(r, b);
      if (oc == kNoOutlier) continue;
      for (int c = oc / 4 * 4; c < oc / 4 * 4 + 4; ++c) w[idx(r, c)] = 0.0f;  // the quad holds the BF16 word
      w[idx(r, oc)] = outlier_value(r, b).to_float();
    }
  }
  return w;
}

void unpack_words(const std::vector<std::uint16_t>& words, PackedCimParts& parts) {
  const int quads = parts.cols / 4;
  const int nb = num_blocks(parts.cols, parts.grid.block_size);
  require_size(words.size(), static_cast<std::size_t>(parts.rows) * quads, "packed words");
  require_size(parts.outlier_col.size(), static_cast<std::size_t>(parts.rows) * nb, "outlier_col");
  parts.codes.assign(static_cast<std::size_t>(parts.rows) * parts.cols, 0);
  parts.outlier_value.assign(static_cast<std::size_t>(parts.rows) * nb, Bf16());
  const bool is_signed = parts.grid.is_signed();
  for (int r = 0; r < parts.rows; ++r) {
    for (int m = 0; m < quads; ++m) {
      const int b = (m * 4) / parts.grid.block_size;
      const int oc = parts.outlier_col[static_cast<std::size_t>(r) * nb + b];
      const CodeQuad quad = CodeQuad::from_word(words[static_cast<std::size_t>(r) * quads + m]);
      if (oc != kNoOutlier && b * parts.grid.block_size + oc >= 0 && (b * parts.grid.block_size + oc) / 4 == m) {
        parts.outlier_value[static_cast<std::size_t>(r) * nb + b] = quad.as_outlier();
        continue;
      }
      for (int k = 0; k < 4; ++k) {
        const int code = quad.cell(k).value(is_signed);
        OACIM_REQUIRE(code >= parts.grid.stored_min() && code <= parts.grid.stored_max(),
                fmt::format("nibble {:#x} at row {} column {} is not a {}-bit {} code", quad.cell(k).nibble(), r,
                            4 * m + k, parts.grid.bits, to_string(parts.grid.kind)));
        parts.codes[static_cast<std::size_t>(r) * parts.cols + 4 * m + k] = static_cast<std::int8_t>(code);
      }
    }
  }
}

}  // namespace oacim
