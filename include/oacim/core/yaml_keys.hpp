#pragma once
// Reads YAML files of dotted keys against a key table (hardware configs, experiment files): nested
// mappings spell dotted keys (`macro: {rows: 64}` is `macro.rows`), and every error is a
// ConfigError naming file:line, the key and the reason: malformed YAML, a top level that is not a
// mapping, non-string keys, keys given twice, unknown keys (with the closest known key), a value
// where a group of keys belongs and a mapping where a value belongs. What a leaf value means is the
// caller's. No torch.
#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace oacim {

// 1-based line of a node (0 when unknown).
int yaml_line(const YAML::Node& node);

// "unknown key (did you mean 'x'?); <hint>".
std::string unknown_key_reason(const std::string& key, const std::vector<std::string>& known_keys,
                               const std::string& hint);

// Parses `text`; malformed YAML becomes a ConfigError naming `file` and the line.
YAML::Node load_yaml(const std::string& text, const std::string& file);

struct YamlKeyWalk {
  std::string file;
  std::vector<std::string> keys;  // the leaf keys of the table (their dotted prefixes are groups)
  std::string hint;               // how to list the keys, appended to unknown-key reasons
  // Entries the caller handles itself (a special section, a free-form subtree): returns true when
  // it took the entry. Called before any other check.
  std::function<bool(const std::string& key, const YAML::Node& value, int line)> special;
  // A leaf key's value: a scalar, a sequence or null (never a mapping).
  std::function<void(const std::string& key, const YAML::Node& value, int line)> value;
};

// Walks the mapping `node` (keys below `prefix`); YAML errors on the way become ConfigErrors.
void walk_yaml_keys(const YAML::Node& node, const YamlKeyWalk& walk, const std::string& prefix = "");

}  // namespace oacim
