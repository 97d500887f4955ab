// GGUF 4-bit blocks onto the cells: the codes are the file's nibbles, the scales its d (or d*sc),
// Q4_0 dequantizes to ggml's values bit for bit, Q4_1/Q4_K within the stated zero rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/gguf.hpp"
#include "oacim/core/gguf_cells.hpp"
#include "oacim/core/packed_io.hpp"

namespace oacim {
namespace {

void put_f16(std::string& out, float v) {
  const std::uint16_t b = fp16_bits_from_float(v);
  out.append(reinterpret_cast<const char*>(&b), 2);
}

// `rows` rows of `blocks_per_row` random blocks of `type`; d = 0 and negative d included.
std::string random_blocks(GgmlType type, int rows, int blocks_per_row, std::mt19937& rng) {
  std::uniform_real_distribution<float> scale(-0.05f, 0.08f);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out;
  for (int i = 0; i < rows * blocks_per_row; ++i) {
    const float d = i % 7 == 3 ? 0.0f : scale(rng);
    put_f16(out, d);
    if (type == GgmlType::Q4_1 || type == GgmlType::Q4_K) put_f16(out, scale(rng));  // m, or dmin
    const int payload = type == GgmlType::Q4_K ? 12 + 128 : 16;
    for (int j = 0; j < payload; ++j) out += static_cast<char>(byte(rng));
  }
  return out;
}

GgufFile one_tensor(GgmlType type, int rows, int cols, const std::string& blocks) {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  w.add_raw_tensor("w", {cols, rows}, type, blocks);
  return GgufFile::from_bytes(w.bytes(), "cells.gguf");
}

TEST(GgufCells, Q40IsExactAndKeepsTheFilesNibbles) {
  std::mt19937 rng(1);
  const int rows = 5, cols = 96;
  const std::string blocks = random_blocks(GgmlType::Q4_0, rows, cols / 32, rng);
  const GgufFile f = one_tensor(GgmlType::Q4_0, rows, cols, blocks);
  const GgufCellMapping m = gguf_to_packed(f, f.tensors()[0]);
  EXPECT_TRUE(m.exact());
  EXPECT_FALSE(m.weights.parts().fractional_zeros);
  EXPECT_EQ(m.weights.rows(), rows);
  EXPECT_EQ(m.weights.cols(), cols);
  EXPECT_EQ(m.weights.grid().block_size, 32);
  EXPECT_EQ(m.weights.dequantize(), f.dequantize(f.tensors()[0]));
  // Block by block: scale |d|, zero 8 (d > 0) or 7 (d < 0, codes 15 - q), the nibble layout of ggml.
  for (int r = 0; r < rows; ++r) {
    for (int b = 0; b < cols / 32; ++b) {
      const auto* blk = reinterpret_cast<const std::uint8_t*>(blocks.data()) + (r * (cols / 32) + b) * 18;
      std::uint16_t bits;
      std::memcpy(&bits, blk, 2);
      const float d = float_from_fp16_bits(bits);
      const GridParams gp = m.weights.params(r, b);
      if (d == 0.0f) {
        EXPECT_EQ(gp.scale, 0.0f);
        continue;
      }
      EXPECT_EQ(gp.scale, std::fabs(d));
      EXPECT_EQ(gp.zero, d > 0 ? 8.0f : 7.0f);
      for (int j = 0; j < 16; ++j) {
        const int lo = blk[2 + j] & 0xF, hi = blk[2 + j] >> 4;
        EXPECT_EQ(m.weights.code(r, b * 32 + j), d > 0 ? lo : 15 - lo);
        EXPECT_EQ(m.weights.code(r, b * 32 + 16 + j), d > 0 ? hi : 15 - hi);
      }
    }
  }
}

TEST(GgufCells, Q41HandComputedBlockIsExact) {
  // d = 0.25, m = -1: zero = -m/d = 4, an integer: value j * 0.25 - 1 = 0.25 * (j - 4) exactly.
  std::string blk;
  put_f16(blk, 0.25f);
  put_f16(blk, -1.0f);
  for (int j = 0; j < 16; ++j) blk += static_cast<char>(j | ((15 - j) << 4));
  const GgufFile f = one_tensor(GgmlType::Q4_1, 1, 32, blk);
  const GgufCellMapping m = gguf_to_packed(f, f.tensors()[0]);
  EXPECT_TRUE(m.exact());
  EXPECT_EQ(m.weights.params(0, 0).scale, 0.25f);
  EXPECT_EQ(m.weights.params(0, 0).zero, 4.0f);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(m.weights.code(0, j), j);
    EXPECT_EQ(m.weights.code(0, 16 + j), 15 - j);
    EXPECT_EQ(m.weights.dequantized(0, j), j * 0.25f - 1.0f);
  }
}

// Q4_1 and Q4_K: the zero -min/d is rounded to fp32; the value error is a few ulps of the block's
// largest weight, and the mapping reports exactly the error it made.
void expect_close_mapping(GgmlType type, int cols) {
  std::mt19937 rng(static_cast<unsigned>(cols));
  const int rows = 6;
  const int per_row = cols / (type == GgmlType::Q4_K ? 256 : 32);
  const GgufFile f = one_tensor(type, rows, cols, random_blocks(type, rows, per_row, rng));
  const GgufCellMapping m = gguf_to_packed(f, f.tensors()[0]);
  const std::vector<float> ggml = f.dequantize(f.tensors()[0]), chip = m.weights.dequantize();
  double worst = 0.0, largest = 0.0;
  for (std::size_t i = 0; i < ggml.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(chip[i]) - ggml[i]));
    largest = std::max(largest, std::fabs(static_cast<double>(ggml[i])));
  }
  EXPECT_EQ(m.max_abs_error, worst);
  EXPECT_GT(worst, 0.0);                     // random minima do not divide their scales
  EXPECT_LE(worst, largest * 4 * 0x1p-23);   // a few ulps
  EXPECT_TRUE(m.weights.parts().fractional_zeros);
  EXPECT_GT(m.recoded_blocks, 0);            // the d = 0 blocks (Q4_K: sub-scale 0 ones too)
  // Fractional zeros survive the packed file (format version 2). One file per type: ctest runs
  // the Q4_1 and Q4_K tests as concurrent processes.
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("oacim_gguf_cells_" + std::to_string(static_cast<int>(type)) + ".safetensors"))
                               .string();
  save_packed(path, m.weights);
  const PackedCimWeights back = load_packed(path);
  EXPECT_EQ(back.dequantize(), chip);
  EXPECT_EQ(back.parts().zeros, m.weights.parts().zeros);
  EXPECT_EQ(SafetensorsFile::open(path).metadata_value("format_version"), "2");
  std::filesystem::remove(path);
}

TEST(GgufCells, Q41IsWithinTheZeroRounding) { expect_close_mapping(GgmlType::Q4_1, 64); }

TEST(GgufCells, Q4KIsWithinTheZeroRoundingAndKeepsExactSubScales) {
  expect_close_mapping(GgmlType::Q4_K, 512);
  // The scale of each 32-weight block is d * sc exactly (an fp16 times a 6-bit integer).
  std::mt19937 rng(9);
  const std::string blocks = random_blocks(GgmlType::Q4_K, 1, 1, rng);
  const GgufFile f = one_tensor(GgmlType::Q4_K, 1, 256, blocks);
  const GgufCellMapping m = gguf_to_packed(f, f.tensors()[0]);
  const auto* b = reinterpret_cast<const std::uint8_t*>(blocks.data());
  std::uint16_t dbits;
  std::memcpy(&dbits, b, 2);
  const float d = float_from_fp16_bits(dbits);
  const int sc0 = b[4] & 63;  // sub-block 0's scale
  if (d != 0.0f && sc0 != 0) EXPECT_EQ(m.weights.params(0, 0).scale, std::fabs(d * static_cast<float>(sc0)));
}

TEST(GgufCells, TypesThatDoNotFitACellAreRefusedByName) {
  std::string q8;
  put_f16(q8, 0.5f);
  q8.append(32, '\x01');
  const GgufFile f = one_tensor(GgmlType::Q8_0, 1, 32, q8);
  EXPECT_FALSE(ggml_type_fits_cell(static_cast<std::uint32_t>(GgmlType::Q8_0)));
  try {
    (void)gguf_to_packed(f, f.tensors()[0]);
    FAIL() << "Q8_0 mapped";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("cells.gguf: tensor 'w' is Q8_0"), std::string::npos) << e.what();
  }
  GgufWriter w;
  EXPECT_THROW(w.add_raw_tensor("short", {32, 2}, GgmlType::Q4_0, std::string(18, '\0')), InvalidArgument);
}

}  // namespace
}  // namespace oacim
