#include "oacim/hw/hw_config_io.hpp"

#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "oacim/core/closest_name.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/hw/hw_params.hpp"

namespace oacim::hw {

namespace {

int line_of(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

std::string unknown_key_reason(const std::string& key) {
  std::vector<std::string> keys;
  for (const auto& p : hw_params()) keys.push_back(p.key);
  const std::string best = closest_name(key, keys);
  std::string reason = "unknown key";
  if (!best.empty()) reason += fmt::format(" (did you mean '{}'?)", best);
  return reason + "; see docs/configs.md or 'oacim hw-config --markdown'";
}

bool is_group_prefix(const std::string& prefix) {
  for (const auto& p : hw_params()) {
    if (p.key.rfind(prefix + ".", 0) == 0) return true;
  }
  return false;
}

void apply_value(HwConfig& cfg, const std::string& key, const std::string& value, const std::string& file, int line,
                 std::set<std::string>& seen) {
  const HwParam* p = find_hw_param(key);
  if (!p) throw ConfigError(file, line, key, unknown_key_reason(key));
  if (!seen.insert(key).second) throw ConfigError(file, line, key, "given twice");
  const std::string why = check_param_value(*p, value);
  if (!why.empty()) throw ConfigError(file, line, key, why);
  p->set(cfg, value);
}

void walk(const YAML::Node& node, const std::string& prefix, HwConfig& cfg, const std::string& file,
          std::set<std::string>& seen) {
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    const std::string key = prefix.empty() ? k : prefix + "." + k;
    const YAML::Node& v = kv.second;
    const int line = line_of(kv.first);
    if (prefix.empty() && (k == "name" || k == "description")) {
      if (!v.IsScalar()) throw ConfigError(file, line, key, "must be a string");
      if (k == "name") cfg.name = v.as<std::string>();
      continue;
    }
    if (v.IsMap()) {
      if (find_hw_param(key)) throw ConfigError(file, line, key, "takes a value, not a mapping");
      if (!is_group_prefix(key)) throw ConfigError(file, line, key, unknown_key_reason(key));
      walk(v, key, cfg, file, seen);
    } else if (v.IsScalar()) {
      if (!find_hw_param(key) && is_group_prefix(key)) {
        throw ConfigError(file, line, key, "is a group of keys and needs a mapping, not a value");
      }
      apply_value(cfg, key, v.Scalar(), file, line, seen);
    } else if (v.IsSequence()) {
      throw ConfigError(file, line, key,
                        "a list is not a value here (lists expand into sweeps in experiment configs, not in a "
                        "hardware config)");
    } else {
      throw ConfigError(file, line, key, "has no value");
    }
  }
}

}  // namespace

HwConfig parse_hw_config(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "malformed YAML: " + e.msg);
  }
  HwConfig cfg = default_hw_config();
  cfg.source = source;
  cfg.name = source;
  if (root.IsNull()) {
    validate_combinations(cfg);
    return cfg;
  }
  if (!root.IsMap()) throw ConfigError(source, line_of(root), "", "the top level must be a mapping of keys");
  std::set<std::string> seen;
  try {
    walk(root, "", cfg, source, seen);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "malformed YAML: " + e.msg);
  }
  validate_combinations(cfg);
  return cfg;
}

HwConfig load_hw_config(const std::string& path) {
  std::string text;
  try {
    text = read_whole_file(path);
  } catch (const FormatError&) {
    throw ConfigError(path, 0, "", "cannot open the file");
  }
  return parse_hw_config(text, path);
}

HwConfig apply_overrides(const HwConfig& base, const std::map<std::string, std::string>& overrides,
                         const std::string& source) {
  HwConfig cfg = base;
  std::set<std::string> seen;
  for (const auto& [key, value] : overrides) apply_value(cfg, key, value, source, 0, seen);
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
