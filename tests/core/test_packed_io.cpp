// PackedCimWeights through safetensors: exact round trips and broken files.
#include <cstring>
#include <functional>
#include <filesystem>
#include <random>
#include <unistd.h>

#include <gtest/gtest.h>

#include "../support/packed_fixtures.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/packed_io.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/core/safetensors.hpp"

namespace oacim {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("oacim_pio_" + std::to_string(::getpid()) + "_" + name)).string();
}

void expect_same(const PackedCimWeights& a, const PackedCimWeights& b) {
  ASSERT_EQ(a.rows(), b.rows());
  ASSERT_EQ(a.cols(), b.cols());
  EXPECT_EQ(a.grid().bits, b.grid().bits);
  EXPECT_EQ(a.grid().kind, b.grid().kind);
  EXPECT_EQ(a.grid().block_size, b.grid().block_size);
  EXPECT_EQ(a.grid().offsets_in_cell, b.grid().offsets_in_cell);
  EXPECT_EQ(a.offset_sign(), b.offset_sign());
  EXPECT_EQ(a.parts().codes, b.parts().codes);
  EXPECT_EQ(a.parts().offsets, b.parts().offsets);
  EXPECT_EQ(a.parts().outlier_col, b.parts().outlier_col);
  EXPECT_EQ(a.packed_words(), b.packed_words());
  const auto da = a.dequantize();
  const auto db = b.dequantize();
  ASSERT_EQ(da.size(), db.size());
  EXPECT_EQ(0, std::memcmp(da.data(), db.data(), da.size() * sizeof(float)));  // bit-exact
}

std::vector<float> random_matrix(int rows, int cols, unsigned seed) {
  std::mt19937 gen(seed);
  std::student_t_distribution<float> t(3.0f);
  std::vector<float> w(static_cast<std::size_t>(rows) * cols);
  for (auto& x : w) x = 0.02f * t(gen);
  return w;
}

TEST(PackedIo, RoundTripsEveryFormatVariant) {
  const std::string file = temp_path("variants.safetensors");
  int n = 0;
  for (int bits : {2, 3, 4}) {
    for (CodeKind kind : {CodeKind::Signed, CodeKind::Unsigned}) {
      for (int qq : {0, 3}) {
        for (bool outliers : {false, true}) {
          RtnPackOptions o;
          o.grid = GridSpec{bits, kind, 32};
          o.qq.scale_bits = qq;
          o.qq.zero_bits = qq > bits ? bits : qq;
          o.qq.group_size = 8;
          o.outliers = outliers;
          o.offsets = true;
          o.offset_search.max_abs_offset = 2;
          const auto w = random_matrix(20, 44, static_cast<unsigned>(++n));  // ragged rows and block
          const PackedCimWeights packed = pack_rtn(w, 20, 44, o);
          save_packed(file, packed);
          expect_same(packed, load_packed(file));
          if (bits < 4) {  // offsets in the cell: format version 3
            o.grid.offsets_in_cell = true;
            const PackedCimWeights in_cell = pack_rtn(w, 20, 44, o);
            save_packed(file, in_cell);
            EXPECT_EQ(SafetensorsFile::open(file).metadata_value("format_version"), "3");
            expect_same(in_cell, load_packed(file));
          }
        }
      }
    }
  }
  fs::remove(file);
}

TEST(PackedIo, SeveralLayersShareAFile) {
  const std::string file = temp_path("layers.safetensors");
  SafetensorsWriter w;
  const PackedCimWeights a(test::small_parts());
  RtnPackOptions o;
  o.outliers = true;
  const PackedCimWeights b = pack_rtn(random_matrix(8, 64, 9), 8, 64, o);
  add_packed(w, "model.layers.0.q_proj.", a);
  add_packed(w, "model.layers.0.k_proj.", b);
  w.write(file);
  const auto f = SafetensorsFile::open(file);
  expect_same(a, load_packed(f, "model.layers.0.q_proj."));
  expect_same(b, load_packed(f, "model.layers.0.k_proj."));
  EXPECT_THROW(load_packed(f, "model.layers.1.q_proj."), FormatError);
  fs::remove(file);
}

// A layer copied out of a mapped file as views (how a quantize run assembles its output from block
// checkpoints) writes the bytes add_packed writes, and only that layer's keys move.
TEST(PackedIo, ViewsOfAStoredLayerWriteTheBytesOfTheLayer) {
  const std::string file = temp_path("views_src.safetensors");
  RtnPackOptions o;
  o.outliers = true;
  const PackedCimWeights a(test::small_parts());
  const PackedCimWeights b = pack_rtn(random_matrix(8, 64, 9), 8, 64, o);
  SafetensorsWriter src;
  add_packed(src, "model.layers.1.q_proj.", a);
  add_packed(src, "model.layers.10.q_proj.", b);  // its name starts with the other's, less the dot
  src.write(file);
  const auto mapped = std::make_shared<const SafetensorsFile>(SafetensorsFile::open(file));
  SafetensorsWriter direct, viewed;
  add_packed(direct, "model.layers.1.q_proj.", a);
  add_packed_view(viewed, "model.layers.1.q_proj.", mapped);
  EXPECT_TRUE(direct.bytes() == viewed.bytes());
  const std::string out = temp_path("views_out.safetensors");
  viewed.write(out);
  expect_same(a, load_packed(SafetensorsFile::open(out), "model.layers.1.q_proj."));
  EXPECT_THROW(add_packed_view(viewed, "model.layers.2.q_proj.", mapped), FormatError);
  fs::remove(file);
  fs::remove(out);
}

// Writes the small layer with one tensor or metadata value replaced, then expects a FormatError
// mentioning `needle`.
void expect_broken(const std::string& name, const std::function<void(SafetensorsWriter&)>& edit,
                   const std::string& needle) {
  const std::string file = temp_path(name);
  SafetensorsWriter w;
  add_packed(w, "", PackedCimWeights(test::small_parts()));
  edit(w);
  w.write(file);
  try {
    load_packed(file);
    ADD_FAILURE() << name << ": loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << name << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
  fs::remove(file);
}

TEST(PackedIo, RejectsInconsistentFiles) {
  expect_broken("version", [](SafetensorsWriter& w) { w.set_metadata("format_version", "4"); }, "format_version");
  expect_broken("version3", [](SafetensorsWriter& w) {
    w.set_metadata("format_version", "3");
    w.set_metadata("fractional_zeros", "0");
  }, "offsets_in_cell");
  // Version 2 must say whether its zeros are fractional; an integer layer must not claim version 2 silently.
  expect_broken("version2", [](SafetensorsWriter& w) { w.set_metadata("format_version", "2"); }, "fractional_zeros");
  expect_broken("format", [](SafetensorsWriter& w) { w.set_metadata("format", "gguf"); }, "format");
  expect_broken("bits", [](SafetensorsWriter& w) { w.set_metadata("bits", "four"); }, "'bits'");
  expect_broken("bits9", [](SafetensorsWriter& w) { w.set_metadata("bits", "9"); }, "'bits'");
  expect_broken("kind", [](SafetensorsWriter& w) { w.set_metadata("code_kind", "both"); }, "code_kind");
  expect_broken("rows", [](SafetensorsWriter& w) { w.set_metadata("rows", "5"); }, "shape");
  expect_broken("scales", [](SafetensorsWriter& w) { w.add("scales", DType::F64, {4, 2}, std::vector<double>(8, 1.0)); },
                "dtype");
  expect_broken("victim",
                [](SafetensorsWriter& w) {
                  // Mark quad 0 of row 0 as an outlier quad while its neighbour columns hold codes:
                  // decoding gives the quad to the outlier, so the outlier value is the word itself.
                  std::vector<std::int16_t> idx(8, -1);
                  idx[0] = 40;  // column 40 does not exist in block 0 (32 columns)
                  w.add("outlier_index", DType::I16, {4, 2}, idx);
                },
                "outside the block");
  expect_broken("nibble",
                [](SafetensorsWriter& w) {
                  w.set_metadata("bits", "2");  // codes of the fixture are 4-bit: not valid 2-bit nibbles
                },
                "not a 2-bit");
}

}  // namespace
}  // namespace oacim
