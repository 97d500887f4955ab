#pragma once
// Sub-byte storage types of the CIM array. A cell holds 4 bits; a weight code of `bits` <= 4 is
// stored in one cell, two's complement (sign-extended to 4 bits) when signed, zero-extended when
// unsigned. Four cells of one row form a quad: one 16-bit word, cell k = column 4m+k in nibble k
// (lowest nibble first). An outlier quad holds a BF16 bit pattern instead of four codes.
#include <array>
#include <cstdint>

#include "oacim/core/bf16.hpp"

namespace oacim {

inline constexpr int kCellBits = 4;
inline constexpr int kQuadCells = 4;

// Number of `1` bits of a 16-bit stored word.
constexpr int popcount16(std::uint16_t word) {
  int n = 0;
  for (; word != 0; word = static_cast<std::uint16_t>(word & (word - 1))) ++n;
  return n;
}

// One 4-bit cell: the raw nibble and its decoding.
class CellCode {
 public:
  // Encodes `code` (must be representable in 4 bits, signed or unsigned) into a nibble.
  static constexpr CellCode from_code(int code) {
    return CellCode(static_cast<std::uint8_t>(static_cast<unsigned>(code) & 0xFu));
  }
  static constexpr CellCode from_nibble(std::uint8_t nibble) {
    return CellCode(static_cast<std::uint8_t>(nibble & 0xFu));
  }
  constexpr std::uint8_t nibble() const { return nibble_; }
  // Two's-complement reading: [-8, 7].
  constexpr int signed_value() const { return nibble_ >= 8 ? static_cast<int>(nibble_) - 16 : nibble_; }
  constexpr int unsigned_value() const { return nibble_; }
  constexpr int value(bool is_signed) const { return is_signed ? signed_value() : unsigned_value(); }
  constexpr int ones() const { return popcount16(nibble_); }

 private:
  constexpr explicit CellCode(std::uint8_t nibble) : nibble_(nibble) {}
  std::uint8_t nibble_;
};

// One 16-bit word of a row: four cells, or a BF16 outlier.
class CodeQuad {
 public:
  static constexpr CodeQuad from_word(std::uint16_t word) { return CodeQuad(word); }
  static constexpr CodeQuad from_codes(const std::array<int, 4>& codes) {
    std::uint16_t w = 0;
    for (int k = 0; k < 4; ++k) {
      w = static_cast<std::uint16_t>(w | (CellCode::from_code(codes[static_cast<std::size_t>(k)]).nibble() << (4 * k)));
    }
    return CodeQuad(w);
  }
  static constexpr CodeQuad from_outlier(Bf16 value) { return CodeQuad(value.bits()); }

  constexpr std::uint16_t word() const { return word_; }
  constexpr CellCode cell(int k) const {
    return CellCode::from_nibble(static_cast<std::uint8_t>((word_ >> (4 * k)) & 0xFu));
  }
  constexpr Bf16 as_outlier() const { return Bf16::from_bits(word_); }
  constexpr int ones() const { return popcount16(word_); }

 private:
  constexpr explicit CodeQuad(std::uint16_t word) : word_(word) {}
  std::uint16_t word_;
};

// `1` bits of `code` as stored in a cell.
constexpr int cell_ones(int code) { return CellCode::from_code(code).ones(); }

}  // namespace oacim
