#pragma once
// The experiment YAML keys (`oacim run CONFIG`), generated from the option tables of the commands a
// sweep runs (calib, quantize, tweak, eval: every option with an experiment key) plus the keys of
// the experiment itself (name, datasets, backends, hardware, thresholds, ...), all on the option
// engine of core/option_table.hpp. The parser, the validator, the task command lines and
// docs/configs.md (`oacim run --schema`) read it. Hardware knobs are not repeated here: they live
// in hw_params.hpp and are reached through `hardware.set.<knob>`. No torch.
#include <string>
#include <vector>

#include "oacim/core/option_table.hpp"

namespace oacim::sweep {

using ExperimentKey = OptionSpec;

// Every key, in the order of docs/configs.md (by section, then as declared).
const std::vector<ExperimentKey>& experiment_keys();
const ExperimentKey* find_experiment_key(const std::string& key);

// Checks one scalar value (already unquoted) against `k`; returns "" when valid, else the reason.
inline std::string check_key_value(const ExperimentKey& k, const std::string& value) { return check_option_value(k, value); }

// The prefix of hardware knob overrides: `hardware.set.macro.rows: [32, 64]`.
inline const std::string kHwSetPrefix = "hardware.set.";

// Markdown table of every key (docs/configs.md embeds it verbatim).
std::string experiment_keys_markdown();

}  // namespace oacim::sweep
