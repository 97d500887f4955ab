#include "oacim/data/dataset_files.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "oacim/core/error.hpp"

#ifndef OACIM_BUNDLED_DATA_DIR
#error "OACIM_BUNDLED_DATA_DIR must name the bundled dataset folder (CMakeLists.txt sets it)"
#endif

namespace oacim::data {

const std::string& bundled_data_dir() {
  static const std::string kDir = OACIM_BUNDLED_DATA_DIR;
  return kDir;
}

std::string resolve_data_dir(const std::string& data_dir) { return data_dir.empty() ? bundled_data_dir() : data_dir; }

std::string dataset_file(const std::string& name, const std::string& data_dir) {
  const std::string dir = resolve_data_dir(data_dir);
  if (name == "wikitext2") return dir + "/wiki.test.raw";
  if (name == "ptb") return dir + "/ptb.valid.txt";
  if (name == "ptb-new") return dir + "/ptb.test.txt";
  return name;
}

std::string existing_dataset_file(const std::string& name, const std::string& data_dir, const std::string& key) {
  const std::string path = dataset_file(name, data_dir);
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path;
  std::string reason = fmt::format("'{}': no such file ({})", name, path);
  if (name == "ptb" || name == "ptb-new") {
    reason += "; the Penn Treebank cannot be redistributed: name a folder holding your copy of ptb.valid.txt and "
              "ptb.test.txt as the data directory";
  } else if (name == "wikitext2" && !data_dir.empty()) {
    reason += "; leave the data directory unset to use the bundled WikiText-2 test split";
  }
  throw InvalidArgument(key, reason);
}

}  // namespace oacim::data
