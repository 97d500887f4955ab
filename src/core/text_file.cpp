#include "oacim/core/text_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim {

std::string read_whole_file(const std::string& path, std::uint64_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw FormatError(path, "cannot open the file (no such file)");
  if (std::filesystem::is_directory(status)) throw FormatError(path, "is a directory, not a file");
  if (!std::filesystem::is_regular_file(status)) throw FormatError(path, "is not a regular file (a device or a pipe?)");
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    throw FormatError(path, fmt::format("is {} bytes, more than the {} bytes this reader accepts", size, max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path, "cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw FormatError(path, "read error");
  return ss.str();
}

nlohmann::json read_json_file(const std::string& path, std::uint64_t max_bytes) {
  const std::string text = read_whole_file(path, max_bytes);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed JSON: ") + e.what());
  }
}

}  // namespace oacim
