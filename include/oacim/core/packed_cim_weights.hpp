#pragma once
// PackedCimWeights: what the chip stores for one Linear layer of R output rows x C input columns
// (docs/design.md §2). Codes of `bits` <= 4 bits live in 4-bit cells; one 16-bit word per (row, quad)
// holds the four codes of columns 4m..4m+3, or the BF16 pattern of that row's outlier when the
// quad holds one (its three other cells, the victims, give up their weights: they dequantize to 0).
// Per (row, block): a scale, a zero (after optional second-level quantization) and at most one
// outlier. Per input column: an integer offset o_c. Dequantized weight:
//   w[r][c] = scale[r][b] * (q[r][c] - zero[r][b] - o[c])     for code cells,
//           = bf16 outlier value                               at the outlier column,
//           = 0                                                at its victims.
// Every invariant is checked on construction; an object that exists is consistent.
#include <cstdint>
#include <vector>

#include "oacim/core/bf16.hpp"
#include "oacim/core/offset_search.hpp"
#include "oacim/core/quant_grid.hpp"
#include "oacim/core/second_level.hpp"

namespace oacim {

// Version 2 adds fractional zeros (imported formats with a per-block minimum); version 3 offsets in
// the cell (codes narrower than the cell stored as q + o in the cell's range). A layer needs the
// lowest version that holds it, so one without either is written as version 1, byte for byte what
// earlier builds wrote.
inline constexpr int kPackedFormatVersionOffsetsInCell = 3;
inline constexpr int kPackedFormatVersion = 2;
inline constexpr int kPackedFormatVersionIntegerZeros = 1;
inline constexpr int kNoOutlier = -1;

// Everything a PackedCimWeights is made of; the constructor validates it.
struct PackedCimParts {
  int rows = 0;
  int cols = 0;
  GridSpec grid;
  SecondLevelSpec qq;
  OffsetSign offset_sign = OffsetSign::Minimise;  // provenance, kept in the file's metadata
  // Zeros are fp32 values, not integers, without a second level: what an imported block with a
  // minimum needs (GGUF Q4_1/Q4_K: zero = -min / scale, core/gguf_cells.hpp). The datapath's
  // zero.format carries them like second-level zeros.
  bool fractional_zeros = false;

  std::vector<std::int8_t> codes;         // [R * C]; 0 in outlier quads (outlier column and victims)
  std::vector<std::int8_t> offsets;       // [C]
  std::vector<float> scales;              // [R * nb], the values the chip uses
  std::vector<float> zeros;               // [R * nb], the values the chip uses
  std::vector<std::uint8_t> scale_codes;  // [R * nb] when qq.scale_bits > 0, else empty
  std::vector<float> scale_qq_scale;      // [G * nb] fp16 values, when qq.scale_bits > 0
  std::vector<float> scale_qq_zero;       // [G * nb]
  std::vector<std::uint8_t> zero_codes;   // [R * nb] when qq.zero_bits > 0, else empty
  std::vector<float> zero_qq_scale;       // [G * nb]
  std::vector<float> zero_qq_zero;        // [G * nb]
  std::vector<std::int16_t> outlier_col;  // [R * nb], kNoOutlier or the column inside the block
  std::vector<Bf16> outlier_value;        // [R * nb], BF16 value (0 where kNoOutlier)
};

class PackedCimWeights {
 public:
  explicit PackedCimWeights(PackedCimParts parts);  // throws InvariantError

  int rows() const { return p_.rows; }
  int cols() const { return p_.cols; }
  int blocks() const { return nb_; }
  int quads_per_row() const { return p_.cols / 4; }
  const GridSpec& grid() const { return p_.grid; }
  const SecondLevelSpec& second_level() const { return p_.qq; }
  OffsetSign offset_sign() const { return p_.offset_sign; }
  const PackedCimParts& parts() const { return p_; }

  int code(int r, int c) const { return p_.codes[idx(r, c)]; }
  int offset(int c) const { return p_.offsets[static_cast<std::size_t>(c)]; }
  GridParams params(int r, int b) const;
  // Column (absolute) of the outlier of (r, b), or kNoOutlier.
  int outlier_column(int r, int b) const;
  Bf16 outlier_value(int r, int b) const { return p_.outlier_value[bidx(r, b)]; }
  bool is_outlier_quad(int r, int quad) const;
  std::int64_t outlier_count() const;

  // The stored 16-bit word of (row, quad), and all of them [R * C/4].
  std::uint16_t packed_word(int r, int quad) const;
  std::vector<std::uint16_t> packed_words() const;

  float dequantized(int r, int c) const;
  std::vector<float> dequantize() const;  // [R * C]

 private:
  std::size_t idx(int r, int c) const { return static_cast<std::size_t>(r) * p_.cols + c; }
  std::size_t bidx(int r, int b) const { return static_cast<std::size_t>(r) * nb_ + b; }
  void validate() const;

  PackedCimParts p_;
  int nb_ = 0;
};

// Rebuilds the parts from stored packed words: outlier quads carry the BF16 pattern, the others
// four nibbles. Throws InvariantError on a nibble that is not a valid code of the grid.
void unpack_words(const std::vector<std::uint16_t>& words, PackedCimParts& parts);

}  // namespace oacim
