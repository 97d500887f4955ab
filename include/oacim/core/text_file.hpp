#pragma once
// Reading a whole (small) file, raw or as JSON, with the file named in the error.
#include <string>

#include <nlohmann/json.hpp>

namespace oacim {

// The file's bytes; FormatError(path, "cannot open ...") when it cannot be read.
std::string read_whole_file(const std::string& path);

// The file parsed as JSON; FormatError(path, "malformed JSON: ...") when it is not.
nlohmann::json read_json_file(const std::string& path);

}  // namespace oacim
