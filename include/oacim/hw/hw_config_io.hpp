#pragma once
// Reading and writing hardware configs. The YAML is nested by the dotted keys of the table
// (`macro: {rows: 64}`), plus optional `name:` and `description:` strings. Unknown keys, wrong
// types, out-of-range values and impossible combinations throw ConfigError with file:line, key
// and reason; nothing is half-applied.
#include <map>
#include <string>

#include "oacim/hw/hw_config.hpp"

namespace oacim::hw {

HwConfig load_hw_config(const std::string& path);
// `source` names the text in messages (a file name, or "<inline>").
HwConfig parse_hw_config(const std::string& yaml_text, const std::string& source);
// Applies dotted-key overrides (e.g. from a sweep or --set macro.rows=32) on top of `base`.
HwConfig apply_overrides(const HwConfig& base, const std::map<std::string, std::string>& overrides,
                         const std::string& source);

// Every knob with its resolved value, in table order.
std::map<std::string, std::string> to_key_values(const HwConfig& cfg);
// YAML text that parse_hw_config reads back into the same config.
std::string to_yaml(const HwConfig& cfg);

}  // namespace oacim::hw
