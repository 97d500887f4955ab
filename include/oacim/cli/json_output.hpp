#pragma once
// JSON result files: written atomically, with the tool version and commit that produced them.
#include <string>

#include <nlohmann/json.hpp>

#include "oacim/hw/hw_counters.hpp"

namespace oacim::cli {

// Adds {"tool": {"name", "version", "commit"}} and writes `doc` to `path` atomically.
void write_json_result(const std::string& path, nlohmann::json doc);

// {"tokens": ..., "macs": ..., ...}: every datapath counter by name.
nlohmann::json counters_json(const hw::HwCounters& counters);

}  // namespace oacim::cli
