#include "oacim/core/gguf_cells.hpp"

#include <cmath>

#include <fmt/format.h>

#include "oacim/core/quant_grid.hpp"

namespace oacim {

namespace {

constexpr int kBlock = 32;

// Writes the cells, scale and zero of one 32-weight block w = d * q + min.
class CellWriter {
 public:
  CellWriter(PackedCimParts& p, const GgufFile& f, const GgufTensor& t) : p_(p), f_(f), t_(t) {}

  void block(int r, int b, float d, float min, const std::uint8_t* q) {
    if (!std::isfinite(d) || !std::isfinite(min)) {
      throw FormatError(f_.path(), fmt::format("tensor '{}': row {} block {} has a non-finite scale or minimum", t_.name, r, b));
    }
    std::int8_t* cells = &p_.codes[static_cast<std::size_t>(r) * p_.cols + static_cast<std::size_t>(b) * kBlock];
    const std::size_t s = static_cast<std::size_t>(r) * (p_.cols / kBlock) + b;
    if (d > 0.0f) {
      for (int j = 0; j < kBlock; ++j) cells[j] = static_cast<std::int8_t>(q[j]);
      p_.scales[s] = d;
      p_.zeros[s] = -min / d;
    } else if (d < 0.0f) {  // a positive scale: codes 15 - q, zero 15 + min / d
      for (int j = 0; j < kBlock; ++j) cells[j] = static_cast<std::int8_t>(15 - q[j]);
      p_.scales[s] = -d;
      p_.zeros[s] = 15.0f + min / d;
    } else {  // every weight is `min`: one code on a grid that holds it exactly
      ++recoded;
      const std::int8_t code = min > 0.0f ? 1 : 0;
      for (int j = 0; j < kBlock; ++j) cells[j] = code;
      p_.scales[s] = std::fabs(min);
      p_.zeros[s] = min < 0.0f ? 1.0f : 0.0f;
    }
    if (!std::isfinite(p_.zeros[s])) {
      throw FormatError(f_.path(), fmt::format("tensor '{}': row {} block {}: the zero -min/scale = {} / {} is not finite",
                                               t_.name, r, b, -min, d));
    }
  }
  std::int64_t recoded = 0;

 private:
  PackedCimParts& p_;
  const GgufFile& f_;
  const GgufTensor& t_;
};

}  // namespace

bool ggml_type_fits_cell(std::uint32_t type) {
  const auto t = static_cast<GgmlType>(type);
  return t == GgmlType::Q4_0 || t == GgmlType::Q4_1 || t == GgmlType::Q4_K;
}

GgufCellMapping gguf_to_packed(const GgufFile& f, const GgufTensor& t, int row_begin, int rows) {
  if (!ggml_type_fits_cell(t.type)) {
    throw FormatError(f.path(), fmt::format("tensor '{}' is {}; only Q4_0, Q4_1 and Q4_K map onto the 4-bit cell as they are",
                                            t.name, ggml_type_name(t.type)));
  }
  const GgmlBlock gb = ggml_block(t.type);
  if (t.shape.size() != 2 || t.shape[0] % gb.weights != 0 || t.shape[0] > (1 << 30) || t.shape[1] > (1 << 30) ||
      t.data == nullptr) {
    throw FormatError(f.path(), fmt::format("tensor '{}' is not a matrix of whole {} blocks", t.name, ggml_type_name(t.type)));
  }
  const int all_rows = static_cast<int>(t.shape[1]);
  if (rows < 0) rows = all_rows - row_begin;
  if (row_begin < 0 || rows < 1 || row_begin + rows > all_rows) {
    throw FormatError(f.path(), fmt::format("tensor '{}' has {} rows, not rows {}..{}", t.name, all_rows, row_begin, row_begin + rows - 1));
  }
  PackedCimParts p;
  p.cols = static_cast<int>(t.shape[0]);
  p.rows = rows;
  p.grid = GridSpec{4, CodeKind::Unsigned, kBlock};
  const int nb = p.cols / kBlock;
  const std::size_t rb = static_cast<std::size_t>(p.rows) * nb;
  p.codes.assign(static_cast<std::size_t>(p.rows) * p.cols, 0);
  p.offsets.assign(static_cast<std::size_t>(p.cols), 0);
  p.scales.assign(rb, 0.0f);
  p.zeros.assign(rb, 0.0f);
  p.outlier_col.assign(rb, kNoOutlier);
  p.outlier_value.assign(rb, Bf16{});

  CellWriter cells(p, f, t);
  const std::uint8_t* const first_block = t.data + static_cast<std::size_t>(row_begin) * (p.cols / gb.weights) * gb.bytes;
  const std::uint8_t* src = first_block;
  std::uint8_t q[2 * kBlock];  // the 4-bit codes of up to two blocks, in weight order
  for (int r = 0; r < p.rows; ++r) {
    for (int b = 0; b < nb; b += gb.weights / kBlock, src += gb.bytes) {
      switch (static_cast<GgmlType>(t.type)) {
        case GgmlType::Q4_0:
        case GgmlType::Q4_1: {  // low nibbles are weights 0..15, high nibbles 16..31
          const bool has_min = static_cast<GgmlType>(t.type) == GgmlType::Q4_1;
          const std::uint8_t* qs = src + (has_min ? 4 : 2);
          for (int j = 0; j < 16; ++j) {
            q[j] = qs[j] & 0x0F;
            q[j + 16] = qs[j] >> 4;
          }
          const float d = ggml_f16_at(src);
          cells.block(r, b, d, has_min ? ggml_f16_at(src + 2) : -8.0f * d, q);
          break;
        }
        default: {  // Q4_K: four 64-weight chunks, low nibbles sub-block 2i, high nibbles 2i+1
          const float d = ggml_f16_at(src), dmin = ggml_f16_at(src + 2);
          const std::uint8_t* scales = src + 4;
          const std::uint8_t* qs = src + 16;
          for (int i = 0; i < 4; ++i, qs += 32) {
            for (int l = 0; l < 32; ++l) {
              q[l] = qs[l] & 0x0F;
              q[l + 32] = qs[l] >> 4;
            }
            for (int h = 0; h < 2; ++h) {
              int sc = 0, mn = 0;
              ggml_q4k_scale_min(2 * i + h, scales, sc, mn);
              cells.block(r, b + 2 * i + h, d * static_cast<float>(sc), -(dmin * static_cast<float>(mn)), q + h * kBlock);
            }
          }
        }
      }
    }
  }
  for (const float z : p.zeros) p.fractional_zeros = p.fractional_zeros || std::nearbyint(z) != z;
  GgufCellMapping m{PackedCimWeights(std::move(p)), 0.0, cells.recoded};
  // ggml's values of these rows alone (a fused tensor is mapped a row range at a time).
  const std::vector<float> chip = m.weights.dequantize();
  std::vector<float> ggml(chip.size());
  ggml_dequantize(t.type, first_block, static_cast<std::int64_t>(chip.size()) / gb.weights, ggml.data());
  for (std::size_t i = 0; i < chip.size(); ++i) {
    m.max_abs_error = std::max(m.max_abs_error, std::fabs(static_cast<double>(chip[i]) - ggml[i]));
  }
  return m;
}

}  // namespace oacim
