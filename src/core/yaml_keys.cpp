#include "oacim/core/yaml_keys.hpp"

#include <algorithm>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "oacim/core/closest_name.hpp"
#include "oacim/core/error.hpp"

namespace oacim {

int yaml_line(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

std::string unknown_key_reason(const std::string& key, const std::vector<std::string>& known_keys,
                               const std::string& hint) {
  const std::string best = closest_name(key, known_keys);
  std::string reason = "unknown key";
  if (!best.empty()) reason += fmt::format(" (did you mean '{}'?)", best);
  return hint.empty() ? reason : reason + "; " + hint;
}

YAML::Node load_yaml(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "malformed YAML: " + e.msg);
  }
}

namespace {

bool is_group(const std::vector<std::string>& keys, const std::string& prefix) {
  return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return k.rfind(prefix + ".", 0) == 0; });
}

bool is_key(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

void walk(const YAML::Node& node, const YamlKeyWalk& w, const std::string& prefix, std::set<std::string>& seen) {
  for (const auto& kv : node) {
    const int line = yaml_line(kv.first);
    if (!kv.first.IsScalar()) throw ConfigError(w.file, line, prefix, "keys must be strings");
    const std::string name = kv.first.as<std::string>();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    const YAML::Node& v = kv.second;
    if (!seen.insert(key).second) throw ConfigError(w.file, line, key, "given twice");
    if (w.special && w.special(key, v, line)) continue;
    if (v.IsMap()) {
      if (is_key(w.keys, key)) throw ConfigError(w.file, line, key, "takes a value, not a mapping");
      if (!is_group(w.keys, key)) throw ConfigError(w.file, line, key, unknown_key_reason(key, w.keys, w.hint));
      walk(v, w, key, seen);
      continue;
    }
    if (!is_key(w.keys, key)) {
      throw ConfigError(w.file, line, key,
                        is_group(w.keys, key) ? "is a section: give it a mapping (it is a group of keys, not a value)"
                                              : unknown_key_reason(key, w.keys, w.hint));
    }
    w.value(key, v, line);
  }
}

}  // namespace

void walk_yaml_keys(const YAML::Node& node, const YamlKeyWalk& w, const std::string& prefix) {
  std::set<std::string> seen;
  try {
    walk(node, w, prefix, seen);
  } catch (const YAML::Exception& e) {
    throw ConfigError(w.file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "malformed YAML: " + e.msg);
  }
}

}  // namespace oacim
