#pragma once
// The one table of hardware knobs (gem5-style), on the option engine of core/option_table.hpp:
// each YAML key with its type, unit, default, allowed values and doc, bound to the HwConfig field
// it sets. Parser, validator, the resolved config in results and docs/configs.md
// (`oacim hw-config --markdown`) are all generated from it.
#include <string>
#include <vector>

#include "oacim/core/option_table.hpp"
#include "oacim/hw/hw_config.hpp"

namespace oacim::hw {

using HwParam = Option<HwConfig>;

const std::vector<HwParam>& hw_params();
const HwParam* find_hw_param(const std::string& key);

// Validates `value` for `p`; returns "" when valid, else the reason.
inline std::string check_param_value(const HwParam& p, const std::string& value) { return check_option_value(p, value); }

// Markdown table of every knob (docs/configs.md embeds it verbatim).
std::string hw_params_markdown();

}  // namespace oacim::hw
