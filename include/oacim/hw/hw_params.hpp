#pragma once
// The one table of hardware knobs (gem5-style): each YAML key with its type, unit, default,
// allowed values and doc, plus how it reads and writes HwConfig. Parser, validator, the resolved
// config in results and docs/configs.md (`oacim hw-config --markdown`) are all generated from it.
#include <functional>
#include <string>
#include <vector>

#include "oacim/hw/hw_config.hpp"

namespace oacim::hw {

enum class ParamKind { Int, Number, Choice, IntOrBlock };

struct HwParam {
  std::string key;                   // dotted YAML path, e.g. "macro.rows"
  ParamKind kind;
  std::string unit;                  // "inputs", "bits", "cycles", "" for formats
  std::string default_text;          // the default, as written in YAML
  std::vector<std::string> choices;  // Choice: allowed values
  double min = 0, max = 0;           // Int, Number, IntOrBlock: inclusive range
  int multiple_of = 1;               // Int, IntOrBlock: value must be a multiple of this
  bool timing_only = false;          // affects cycles, never numerics
  std::string doc;
  std::function<void(HwConfig&, const std::string&)> set;  // receives a validated value
  std::function<std::string(const HwConfig&)> get;
};

const std::vector<HwParam>& hw_params();
const HwParam* find_hw_param(const std::string& key);

// Validates `value` for `p`; returns "" when valid, else the reason.
std::string check_param_value(const HwParam& p, const std::string& value);

// Markdown table of every knob (docs/configs.md embeds it verbatim).
std::string hw_params_markdown();

}  // namespace oacim::hw
