#pragma once
// Reading a whole file, raw or as JSON, with the file named in the error. Only regular files are
// read (a directory or a device such as /dev/zero is refused before a byte is read), and only up
// to a size bound, so a wrong path costs an error message, not the machine's memory.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace oacim {

// Bounds of the readers: configuration files (hardware, experiments) and any other text.
inline constexpr std::uint64_t kMaxConfigFileBytes = std::uint64_t{16} << 20;
inline constexpr std::uint64_t kMaxTextFileBytes = std::uint64_t{4} << 30;

// The file's bytes; FormatError(path, reason) when it is not a regular file, is larger than
// `max_bytes` or cannot be read.
std::string read_whole_file(const std::string& path, std::uint64_t max_bytes = kMaxTextFileBytes);

// The file parsed as JSON; FormatError(path, "malformed JSON: ...") when it is not.
nlohmann::json read_json_file(const std::string& path, std::uint64_t max_bytes = kMaxTextFileBytes);

}  // namespace oacim
