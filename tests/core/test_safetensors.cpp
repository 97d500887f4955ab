// Safetensors round trip and malformed files: each defect is a FormatError naming the file.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>
#include <unistd.h>

#include <gtest/gtest.h>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"

namespace oacim {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oacim_st_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A file made of an explicit header and data bytes, with a chosen header length field.
  std::string raw(const std::string& name, const std::string& header, const std::string& data,
                  std::int64_t length_field = -1) const {
    const std::uint64_t n = length_field < 0 ? header.size() : static_cast<std::uint64_t>(length_field);
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    bytes += header + data;
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }

  void expect_format_error(const std::string& file, const std::string& needle) const {
    try {
      SafetensorsFile::open(file);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const FormatError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(file), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: " << msg;
    }
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsTensorsAndMetadata) {
  SafetensorsWriter w;
  const std::vector<float> f = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  const std::vector<std::int8_t> i8 = {-8, 7, 0};
  const std::vector<std::uint16_t> u16 = {0xFFFF, 0x1234};
  w.add("a.weight", DType::F32, {2, 3}, f);
  w.add("codes", DType::I8, {3}, i8);
  w.add("packed", DType::U16, {1, 2}, u16);
  w.add("empty", DType::F32, {0, 4}, std::vector<float>{});
  w.set_metadata("format_version", "1");
  w.write(path("t.safetensors"));
  EXPECT_FALSE(fs::exists(path("t.safetensors") + ".tmp." + std::to_string(::getpid())));

  const auto file = SafetensorsFile::open(path("t.safetensors"));
  EXPECT_EQ(file.metadata_value("format_version"), "1");
  EXPECT_EQ(file.names(), (std::vector<std::string>{"a.weight", "codes", "empty", "packed"}));
  EXPECT_EQ(file.read<float>("a.weight", DType::F32, {2, 3}), f);
  EXPECT_EQ(file.read<std::int8_t>("codes", DType::I8, {3}), i8);
  EXPECT_EQ(file.read<std::uint16_t>("packed", DType::U16, {1, 2}), u16);
  EXPECT_EQ(file.tensor("empty").numel(), 0);
  // Data section starts 8-byte aligned, as the Python writer does.
  std::ifstream in(path("t.safetensors"), std::ios::binary);
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  EXPECT_EQ(len[0] % 8, 0);
  EXPECT_THROW(file.read<float>("a.weight", DType::F32, {3, 2}), FormatError);
  EXPECT_THROW(file.read<std::int8_t>("a.weight", DType::I8, {2, 3}), FormatError);
  EXPECT_THROW(file.tensor("missing"), FormatError);
  EXPECT_THROW(file.metadata_value("nope"), FormatError);
}

// A view is written as its bytes at write time, and the streamed file equals bytes(); the writer
// keeps the owner of a view alive.
TEST_F(SafetensorsTest, ViewsAreWrittenLikeCopies) {
  auto owner = std::make_shared<std::vector<float>>(std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f});
  SafetensorsWriter copied, viewed;
  copied.add("w", DType::F32, {2, 2}, *owner);
  copied.add("b", DType::I8, {2}, std::vector<std::int8_t>{-1, 1});
  viewed.add_view("w", DType::F32, {2, 2}, owner->data(), owner->size() * sizeof(float), owner);
  viewed.add("b", DType::I8, {2}, std::vector<std::int8_t>{-1, 1});
  const std::weak_ptr<std::vector<float>> watch = owner;
  owner.reset();
  EXPECT_FALSE(watch.expired()) << "the writer let the view's owner go";
  EXPECT_TRUE(copied.bytes() == viewed.bytes());
  viewed.write(path("view.safetensors"));
  std::ifstream in(path("view.safetensors"), std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(written == copied.bytes());
  EXPECT_THROW(viewed.add_view("bad", DType::F32, {3}, watch.lock()->data(), 8, nullptr), InvalidArgument);
}

TEST_F(SafetensorsTest, MalformedFiles) {
  const std::string ok = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string eight(8, '\0');
  // Sanity: the well-formed version opens.
  EXPECT_NO_THROW(SafetensorsFile::open(raw("ok.st", ok, eight)));

  std::ofstream(path("empty.st"), std::ios::binary).flush();
  expect_format_error(path("empty.st"), "truncated");
  std::ofstream(path("short.st"), std::ios::binary) << "abc";
  expect_format_error(path("short.st"), "truncated");
  expect_format_error(raw("len.st", ok, eight, 1 << 30), "header length");
  expect_format_error(raw("hugelen.st", ok, eight, INT64_MAX), "header length");
  expect_format_error(raw("json.st", "{\"t\": [", ""), "not valid JSON");
  expect_format_error(raw("array.st", "[1,2]", ""), "not a JSON object");
  expect_format_error(raw("dtype.st", R"({"t":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", "ab"),
                      "unknown dtype 'F8'");
  expect_format_error(raw("nodtype.st", R"({"t":{"shape":[2],"data_offsets":[0,8]}})", eight), "dtype");
  expect_format_error(raw("size.st", R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
                      "needs 12 bytes");
  expect_format_error(raw("trunc.st", R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight),
                      "exceed the data section");
  expect_format_error(raw("backwards.st", R"({"t":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})", eight),
                      "backwards");
  expect_format_error(raw("overlap.st",
                          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                          eight),
                      "overlaps");
  expect_format_error(raw("hole.st", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "hole");
  expect_format_error(raw("trailing.st", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight),
                      "trailing");
  expect_format_error(raw("negshape.st", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
                      "non-negative");
  expect_format_error(raw("offsets.st", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight),
                      "data_offsets");
  expect_format_error(raw("meta.st", R"({"__metadata__":{"v":1}})", ""), "not a string");
  expect_format_error(raw("overflow.st",
                          R"({"a":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", eight),
                      "overflows");
  expect_format_error(path("does-not-exist.st"), "cannot open");
}

TEST_F(SafetensorsTest, TruncatingAValidFileIsDetected) {
  SafetensorsWriter w;
  w.add("x", DType::F32, {64}, std::vector<float>(64, 1.0f));
  w.write(path("full.st"));
  const auto size = fs::file_size(path("full.st"));
  for (std::uintmax_t cut : {size - 1, size - 100, std::uintmax_t{20}, std::uintmax_t{9}, std::uintmax_t{4}}) {
    fs::copy_file(path("full.st"), path("cut.st"), fs::copy_options::overwrite_existing);
    fs::resize_file(path("cut.st"), cut);
    EXPECT_THROW(SafetensorsFile::open(path("cut.st")), FormatError) << cut;
  }
}

TEST_F(SafetensorsTest, BytesInMemoryAreCheckedLikeAFile) {
  SafetensorsWriter w;
  w.add("x", DType::F32, {3}, std::vector<float>{1.0f, -2.0f, 0.5f});
  w.set_metadata("k", "v");
  const std::string bytes = w.bytes();
  w.write(path("same.st"));
  EXPECT_EQ(bytes.size(), fs::file_size(path("same.st")));
  const SafetensorsFile f = SafetensorsFile::from_bytes(bytes, "message from rank 2");
  EXPECT_EQ(f.read<float>("x", DType::F32, {3}), (std::vector<float>{1.0f, -2.0f, 0.5f}));
  EXPECT_EQ(f.metadata_value("k"), "v");
  try {
    SafetensorsFile::from_bytes(bytes.substr(0, bytes.size() - 2), "message from rank 2");
    FAIL() << "truncated bytes were accepted";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), "message from rank 2");
  }
}

TEST_F(SafetensorsTest, WriterRejectsInconsistentTensorsAndLeavesNoPartialFile) {
  SafetensorsWriter w;
  EXPECT_THROW(w.add("x", DType::F32, {3}, std::vector<float>(2)), InvalidArgument);
  EXPECT_THROW(w.add("__metadata__", DType::F32, {1}, std::vector<float>(1)), InvalidArgument);
  w.add("x", DType::F32, {2}, std::vector<float>(2));
  EXPECT_THROW(w.write(path("no/such/dir/out.st")), FormatError);
  EXPECT_FALSE(fs::exists(path("no/such/dir")));
}

}  // namespace
}  // namespace oacim
