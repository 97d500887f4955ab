// Hostile inputs at the file readers: directories and devices are refused before a byte is read,
// sizes are bounded, a damaged token file is never taken for text, non-finite values are named.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <filesystem>
#include <fstream>
#include <limits>

#include "oacim/core/error.hpp"
#include "oacim/core/finite.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/core/token_file.hpp"

namespace oacim {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(TextFile, RefusesDirectoriesDevicesAndOversizedFiles) {
  const std::string dir = ::testing::TempDir();
  EXPECT_NE(error_of([&] { read_whole_file(dir); }).find("is a directory"), std::string::npos);
  EXPECT_NE(error_of([] { read_whole_file("/dev/zero"); }).find("not a regular file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_whole_file(dir + "/no-such-file"); }).find("no such file"), std::string::npos);
  const std::string big = dir + "/big.txt";
  std::ofstream(big) << std::string(100, 'x');
  EXPECT_EQ(read_whole_file(big).size(), 100u);
  EXPECT_NE(error_of([&] { read_whole_file(big, 99); }).find("100 bytes, more than the 99"), std::string::npos);
}

TEST(TokenFile, ADamagedTokenFileIsNeverTakenForText) {
  const std::string dir = ::testing::TempDir();
  TokenSamples s;
  s.samples = {{1, 2, 3, 4}, {5, 6}};
  const std::string good = dir + "/tokens.safetensors";
  write_token_file(good, s);
  EXPECT_TRUE(is_token_file(good));
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Truncated anywhere after its header starts: still a token file, and reading it says why.
  const std::size_t marker = bytes.find(kTokenFileFormat);
  ASSERT_NE(marker, std::string::npos);
  for (std::size_t keep : {bytes.size() - 1, bytes.size() - 9, marker + 20}) {
    const std::string cut = dir + "/cut.safetensors";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, keep);
    EXPECT_TRUE(is_token_file(cut)) << keep;
    EXPECT_THROW(read_token_file(cut), FormatError) << keep;
  }
  const std::string text = dir + "/plain.txt";
  std::ofstream(text) << "Once upon a time";
  EXPECT_FALSE(is_token_file(text));
  EXPECT_FALSE(is_token_file(dir));
}

TEST(Finite, NamesTheTensorAndTheFirstBadElement) {
  const float v[] = {1.0f, 2.0f, std::numeric_limits<float>::infinity(), NAN};
  EXPECT_EQ(first_non_finite(v, 2), -1);
  EXPECT_EQ(first_non_finite(v, 4), 2);
  EXPECT_EQ(error_of([&] { require_finite(v, 4, "m.bin", "w", 2); }),
            "m.bin: tensor 'w' holds +inf at index 2 (row 1, column 0): a sign-off needs finite weights");
  EXPECT_NO_THROW(require_finite(v, 2, "m.bin", "w"));
}

}  // namespace
}  // namespace oacim
