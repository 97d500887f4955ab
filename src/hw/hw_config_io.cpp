#include "oacim/hw/hw_config_io.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/core/yaml_keys.hpp"
#include "oacim/hw/hw_params.hpp"

namespace oacim::hw {

namespace {

const std::string kKnobHint = "see docs/configs.md or 'oacim hw-config --markdown'";

std::vector<std::string> knob_keys() {
  std::vector<std::string> keys;
  for (const auto& p : hw_params()) keys.push_back(p.key);
  return keys;
}

void apply_value(HwConfig& cfg, const std::string& key, const std::string& value, const std::string& file, int line) {
  const HwParam* p = find_hw_param(key);
  if (!p) throw ConfigError(file, line, key, unknown_key_reason(key, knob_keys(), kKnobHint));
  const std::string why = check_param_value(*p, value);
  if (!why.empty()) throw ConfigError(file, line, key, why);
  p->set(cfg, value);
}

}  // namespace

HwConfig parse_hw_config(const std::string& yaml_text, const std::string& source) {
  const YAML::Node root = load_yaml(yaml_text, source);
  HwConfig cfg = default_hw_config();
  cfg.source = source;
  cfg.name = source;
  if (root.IsNull()) {
    validate_combinations(cfg);
    return cfg;
  }
  if (!root.IsMap()) throw ConfigError(source, yaml_line(root), "", "the top level must be a mapping of keys");
  YamlKeyWalk walk;
  walk.file = source;
  walk.keys = knob_keys();
  walk.hint = kKnobHint;
  walk.special = [&](const std::string& key, const YAML::Node& v, int line) {
    if (key != "name" && key != "description") return false;
    if (!v.IsScalar()) throw ConfigError(source, line, key, "must be a string");
    if (key == "name") cfg.name = v.as<std::string>();
    return true;
  };
  walk.value = [&](const std::string& key, const YAML::Node& v, int line) {
    if (v.IsSequence()) {
      throw ConfigError(source, line, key,
                        "a list is not a value here (lists expand into sweeps in experiment configs, not in a "
                        "hardware config)");
    }
    if (!v.IsScalar()) throw ConfigError(source, line, key, "has no value");
    apply_value(cfg, key, v.Scalar(), source, line);
  };
  walk_yaml_keys(root, walk);
  validate_combinations(cfg);
  return cfg;
}

HwConfig load_hw_config(const std::string& path) {
  std::string text;
  try {
    text = read_whole_file(path, kMaxConfigFileBytes);
  } catch (const FormatError& e) {
    throw ConfigError(path, 0, "", e.reason());
  }
  return parse_hw_config(text, path);
}

HwConfig apply_overrides(const HwConfig& base, const std::map<std::string, std::string>& overrides,
                         const std::string& source) {
  HwConfig cfg = base;
  for (const auto& [key, value] : overrides) apply_value(cfg, key, value, source, 0);
  validate_combinations(cfg);
  return cfg;
}

std::map<std::string, std::string> to_key_values(const HwConfig& cfg) {
  std::map<std::string, std::string> kv;
  for (const auto& p : hw_params()) kv[p.key] = p.get(cfg);
  return kv;
}

std::string to_yaml(const HwConfig& cfg) {
  std::string out = fmt::format("name: \"{}\"\n", cfg.name);
  std::string group;
  for (const auto& p : hw_params()) {
    const auto dot = p.key.find('.');
    const std::string g = p.key.substr(0, dot);
    if (g != group) {
      out += g + ":\n";
      group = g;
    }
    out += fmt::format("  {}: {}\n", p.key.substr(dot + 1), p.get(cfg));
  }
  return out;
}

}  // namespace oacim::hw
