#include "oacim/core/text_file.hpp"

#include <fstream>
#include <sstream>

#include "oacim/core/error.hpp"

namespace oacim {

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path, "cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw FormatError(path, "read error");
  return ss.str();
}

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_whole_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed JSON: ") + e.what());
  }
}

}  // namespace oacim
