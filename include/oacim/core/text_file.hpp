#pragma once
// Reading a whole (small) file, with the file named in the error.
#include <string>

namespace oacim {

// The file's bytes; FormatError(path, "cannot open ...") when it cannot be read.
std::string read_whole_file(const std::string& path);

}  // namespace oacim
