#include "oacim/core/error.hpp"

namespace oacim {

FormatError::FormatError(const std::string& file, const std::string& reason)
    : Error(file + ": " + reason), file_(file) {}

InvalidArgument::InvalidArgument(const std::string& key, const std::string& reason)
    : Error(key + ": " + reason), key_(key) {}

}  // namespace oacim
