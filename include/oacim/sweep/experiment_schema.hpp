#pragma once
// The one table of experiment YAML keys (`oacim run CONFIG`): each dotted key with its type,
// default, allowed values and doc. The parser, the validator and docs/configs.md
// (`oacim run --schema-markdown`) all read it. Hardware knobs are not repeated here: they live in
// hw_params.hpp and are reached through `hardware.set.<knob>`. No torch.
#include <string>
#include <vector>

namespace oacim::sweep {

enum class KeyKind {
  String,      // free text
  Path,        // a file or directory; relative paths are taken from the working directory
  Int,
  Number,
  Bool,
  Choice,      // one of `choices`
  OptNumber,   // a number, or `off` (the check is disabled)
  StringList,  // a list is the value itself (never a sweep axis)
  ChoiceList,  // a list of `choices`, the value itself
};

struct ExperimentKey {
  std::string key;                   // dotted path, e.g. "quantization.wbits"
  KeyKind kind;
  std::string default_text;          // as written in YAML; "" = no default (required or empty)
  bool required = false;
  std::vector<std::string> choices;  // Choice / ChoiceList
  double min = 0, max = 0;           // Int / Number / OptNumber: inclusive range (min == max: unbounded)
  std::string doc;
  // A YAML list on a scalar key is a sweep axis; list kinds take lists as their value.
  bool is_list() const { return kind == KeyKind::StringList || kind == KeyKind::ChoiceList; }
};

const std::vector<ExperimentKey>& experiment_keys();
const ExperimentKey* find_experiment_key(const std::string& key);

// Checks one scalar value (already unquoted) against `k`; returns "" when valid, else the reason.
std::string check_key_value(const ExperimentKey& k, const std::string& value);

// The prefix of hardware knob overrides: `hardware.set.macro.rows: [32, 64]`.
inline const std::string kHwSetPrefix = "hardware.set.";

// Markdown table of every key (docs/configs.md embeds it verbatim).
std::string experiment_keys_markdown();

}  // namespace oacim::sweep
