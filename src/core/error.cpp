#include "oacim/core/error.hpp"

namespace oacim {

FormatError::FormatError(const std::string& file, const std::string& reason)
    : Error(file + ": " + reason), file_(file), reason_(reason) {}

InvalidArgument::InvalidArgument(const std::string& key, const std::string& reason)
    : Error(key + ": " + reason), key_(key), reason_(reason) {}

namespace {
std::string config_location(const std::string& file, int line, const std::string& key) {
  std::string where = file;
  if (line > 0) where += ":" + std::to_string(line);
  return key.empty() ? where : where + ": " + key;
}
}  // namespace

ConfigError::ConfigError(const std::string& file, int line, const std::string& key, const std::string& reason)
    : InvalidArgument(config_location(file, line, key), reason), file_(file), line_(line) {}

}  // namespace oacim
