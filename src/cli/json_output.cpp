#include "oacim/cli/json_output.hpp"

#include "oacim/core/safetensors.hpp"
#include "oacim/version.hpp"

namespace oacim::cli {

void write_json_result(const std::string& path, nlohmann::json doc) {
  doc["tool"] = {{"name", "oacim"}, {"version", kVersion}, {"commit", kGitCommit}};
  write_file_atomically(path, doc.dump(2) + "\n");
}

nlohmann::json counters_json(const hw::HwCounters& counters) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : counters.items()) j[name] = value;
  return j;
}

}  // namespace oacim::cli
