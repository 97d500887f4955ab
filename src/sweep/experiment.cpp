#include "oacim/sweep/experiment.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "oacim/core/option_table.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/core/token_file.hpp"
#include "oacim/core/yaml_keys.hpp"
#include "oacim/data/c4.hpp"
#include "oacim/data/dataset_files.hpp"
#include "oacim/data/task_file.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/hw_params.hpp"
#include "oacim/model/model_layout.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/sweep/experiment_schema.hpp"

namespace oacim::sweep {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// YAML's spellings of booleans and of "no value" brought to the table's.
std::string normalise(const OptionSpec* k, const YAML::Node& v) {
  if (v.IsNull()) return k && k->kind == OptionKind::OptNumber ? "off" : "";
  std::string s = v.as<std::string>();
  if (k && k->kind == OptionKind::Bool) {
    const std::string l = lower(s);
    if (l == "true" || l == "yes" || l == "on") return "true";
    if (l == "false" || l == "no" || l == "off") return "false";
  }
  return s;
}

const std::string kKeyHint = "see docs/configs.md or 'oacim run --schema'";

// The leaf keys of an experiment file: the table's keys and every hardware knob under hardware.set.
std::vector<std::string> walk_keys() {
  std::vector<std::string> keys;
  for (const auto& k : experiment_keys()) keys.push_back(k.key);
  for (const auto& p : hw::hw_params()) keys.push_back(kHwSetPrefix + p.key);
  return keys;
}

struct Parser {
  Experiment& ex;
  const std::string& file;
  std::vector<std::string> axis_order;  // scalar keys with lists, in file order
  std::vector<std::pair<std::vector<std::string>, int>> zips;

  void scalar(const std::string& key, const ExperimentKey* k, const YAML::Node& v, int line) {
    Experiment::Entry e;
    e.line = line;
    auto check = [&](const YAML::Node& item) {
      if (!item.IsScalar() && !item.IsNull()) throw ConfigError(file, yaml_line(item), key, "a list item must be a value");
      const std::string s = normalise(k, item);
      const std::string why =
          k ? check_key_value(*k, s) : hw::check_param_value(*hw::find_hw_param(key.substr(kHwSetPrefix.size())), s);
      if (!why.empty()) throw ConfigError(file, yaml_line(item), key, why);
      e.values.push_back(s);
    };
    if (v.IsSequence()) {
      if (v.size() == 0) throw ConfigError(file, line, key, "an empty list sweeps nothing");
      for (const auto& item : v) check(item);
      if (e.values.size() > 1) axis_order.push_back(key);
    } else {
      check(v);
    }
    ex.scalars[key] = std::move(e);
  }

  void list(const std::string& key, const ExperimentKey& k, const YAML::Node& v, int line) {
    std::vector<std::string> values;
    auto take = [&](const YAML::Node& item) {
      if (!item.IsScalar()) throw ConfigError(file, yaml_line(item), key, "items must be strings");
      const std::string s = item.as<std::string>();
      const std::string why = check_key_value(k, s);
      if (!why.empty()) throw ConfigError(file, yaml_line(item), key, why);
      if (std::find(values.begin(), values.end(), s) != values.end()) {
        throw ConfigError(file, yaml_line(item), key, fmt::format("'{}' is listed twice", s));
      }
      values.push_back(s);
    };
    if (v.IsSequence()) {
      for (const auto& item : v) take(item);
    } else if (!v.IsNull()) {
      take(v);
    }
    if (values.empty() && k.required) throw ConfigError(file, line, key, "must list at least one entry");
    ex.lists[key] = std::move(values);
  }

  void sweep_section(const YAML::Node& node) {
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      const int line = yaml_line(kv.first);
      if (k != "zip") throw ConfigError(file, line, "sweep." + k, "unknown key (the sweep section takes only 'zip')");
      if (!kv.second.IsSequence()) throw ConfigError(file, line, "sweep.zip", "must be a list of key lists");
      for (const auto& group : kv.second) {
        if (!group.IsSequence() || group.size() < 2) {
          throw ConfigError(file, yaml_line(group), "sweep.zip", "each group must list at least two keys");
        }
        std::vector<std::string> keys;
        for (const auto& g : group) {
          if (!g.IsScalar()) throw ConfigError(file, yaml_line(g), "sweep.zip", "keys must be strings");
          keys.push_back(g.as<std::string>());
        }
        zips.emplace_back(keys, yaml_line(group));
      }
    }
  }

  void walk(const YAML::Node& root) {
    YamlKeyWalk w;
    w.file = file;
    w.keys = walk_keys();
    w.hint = kKeyHint;
    w.special = [&](const std::string& key, const YAML::Node& v, int line) {
      if (key == "sweep") {
        if (!v.IsMap()) throw ConfigError(file, line, key, "must be a mapping (zip: [[key, key], ...])");
        sweep_section(v);
        return true;
      }
      if (key.rfind(kHwSetPrefix, 0) == 0 && !v.IsMap() && !hw::find_hw_param(key.substr(kHwSetPrefix.size()))) {
        throw ConfigError(file, line, key,
                          fmt::format("'{}' is not a hardware knob; see 'oacim hw-config --markdown'",
                                      key.substr(kHwSetPrefix.size())));
      }
      return false;
    };
    w.value = [&](const std::string& key, const YAML::Node& v, int line) {
      const ExperimentKey* k = find_experiment_key(key);
      if (k && k->is_list()) {
        list(key, *k, v, line);
      } else {
        scalar(key, k, v, line);
      }
    };
    walk_yaml_keys(root, w);
  }

  void finish() {
    for (const auto& k : experiment_keys()) {
      if (k.is_list()) {
        if (ex.lists.count(k.key)) continue;
        if (k.required) throw ConfigError(file, 0, k.key, "is required");
        ex.lists[k.key] = split_option_list(k.default_text);
        continue;
      }
      if (ex.scalars.count(k.key)) continue;
      if (k.required) throw ConfigError(file, 0, k.key, "is required");
      ex.scalars[k.key] = Experiment::Entry{{k.default_text}, 0};
    }
    for (const auto& k : experiment_keys()) {
      if (k.fixed && !k.is_list() && ex.scalars[k.key].values.size() > 1) {
        throw ConfigError(file, ex.scalars[k.key].line, k.key, "cannot be swept");
      }
    }
    // Axes: zip groups take the place of their first key; every other swept key is its own axis.
    std::set<std::string> zipped;
    for (const auto& [keys, line] : zips) {
      std::size_t n = 0;
      for (const auto& key : keys) {
        const auto it = ex.scalars.find(key);
        if (it == ex.scalars.end() || (find_experiment_key(key) && find_experiment_key(key)->is_list())) {
          throw ConfigError(file, line, "sweep.zip", fmt::format("'{}' is not a scalar key of this file", key));
        }
        if (!zipped.insert(key).second) throw ConfigError(file, line, "sweep.zip", fmt::format("'{}' is zipped twice", key));
        const std::size_t size = it->second.values.size();
        if (size < 2) throw ConfigError(file, line, "sweep.zip", fmt::format("'{}' holds no list to zip", key));
        if (n != 0 && size != n) {
          throw ConfigError(file, line, "sweep.zip",
                            fmt::format("'{}' lists {} values but '{}' lists {}", key, size, keys.front(), n));
        }
        n = size;
      }
    }
    for (const std::string& key : axis_order) {
      if (!zipped.count(key)) {
        // A repeated value only repeats points; within a zip group it is how settings pair up.
        const auto& values = ex.scalars[key].values;
        if (std::set<std::string>(values.begin(), values.end()).size() != values.size()) {
          throw ConfigError(file, ex.scalars[key].line, key, "the sweep lists a value twice");
        }
        ex.axes.push_back({key});
        continue;
      }
      for (const auto& [keys, line] : zips) {
        (void)line;
        const bool mine = std::find(keys.begin(), keys.end(), key) != keys.end();
        if (mine && std::find(ex.axes.begin(), ex.axes.end(), keys) == ex.axes.end()) ex.axes.push_back(keys);
      }
    }
  }
};

std::string point_where(const SweepPoint& p) {
  return fmt::format("point {} ({})", p.index + 1, p.label());
}

// The YAML line of `key` (0 when it was left at its default).
int key_line(const Experiment& ex, const std::string& key) {
  const auto it = ex.scalars.find(key);
  return it == ex.scalars.end() ? 0 : it->second.line;
}

// The experiment key of an option the quantizer's error names (by library name or CLI spelling).
std::string key_of_quantize_option(const std::string& error_key) {
  const std::string name = error_key.rfind("--", 0) == 0 ? error_key.substr(2) : error_key;
  for (const auto& o : quant::quantize_options()) {
    if ((o.name == name || o.cli == name) && !o.key.empty()) return o.key;
  }
  return "quantization.method";
}

// Builds the point's QuantizeRunOptions from its keys through the quantize option table and runs
// the quantizer's own validation; `fail(key, reason)` on the first error.
void check_quantize_options(const Experiment& ex, const SweepPoint& p,
                            const std::function<void(const std::string&, const std::string&)>& fail) {
  quant::QuantizeRunOptions q;
  try {
    for (const auto& o : quant::quantize_options()) {
      if (o.key.empty()) continue;
      const auto it = p.settings.find(o.key);
      if (it != p.settings.end()) {
        o.set(q, it->second);
      } else if (const auto l = ex.lists.find(o.key); l != ex.lists.end()) {
        o.set(q, join_option_list(l->second));
      }
    }
    quant::resolve(q);
    q.layer.validate();
    q.layer.check_packable();
    if (q.layer.method == quant::Method::DiscQuant) q.discquant.validate();
  } catch (const InvalidArgument& e) {
    fail(key_of_quantize_option(e.key()), e.reason());
  }
}

}  // namespace

const std::string& Experiment::value(const std::string& key) const {
  const auto it = scalars.find(key);
  if (it == scalars.end() || it->second.values.empty()) throw InvariantError("experiment: no value for " + key);
  return it->second.values.front();
}

const std::string& SweepPoint::str(const std::string& key) const {
  const auto it = settings.find(key);
  if (it == settings.end()) throw InvariantError("sweep point: no setting " + key);
  return it->second;
}
long long SweepPoint::integer(const std::string& key) const { return std::stoll(str(key)); }
double SweepPoint::number(const std::string& key) const { return std::stod(str(key)); }
bool SweepPoint::flag(const std::string& key) const { return str(key) == "true"; }
bool SweepPoint::off(const std::string& key) const { return str(key) == "off"; }

std::map<std::string, std::string> SweepPoint::hw_overrides() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : settings) {
    if (k.rfind(kHwSetPrefix, 0) == 0) out[k.substr(kHwSetPrefix.size())] = v;
  }
  return out;
}

std::string SweepPoint::label() const {
  if (swept.empty()) return "default";
  std::vector<std::string> parts;
  for (const auto& k : swept) {
    std::string v = str(k);
    if (k == "hardware.config" || k == "model") v = fs::path(v).stem().string();
    const auto dot = k.rfind('.');
    const std::string short_key = k.rfind(kHwSetPrefix, 0) == 0 ? k.substr(kHwSetPrefix.size())
                                  : dot == std::string::npos    ? k
                                                                : k.substr(dot + 1);
    parts.push_back(short_key + "=" + v);
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

Experiment parse_experiment(const std::string& yaml_text, const std::string& source) {
  const YAML::Node root = load_yaml(yaml_text, source);
  if (!root.IsMap()) throw ConfigError(source, 0, "", "an experiment file is a YAML mapping of keys");
  Experiment ex;
  ex.file = source;
  ex.yaml_text = yaml_text;
  Parser parser{ex, source, {}, {}};
  parser.walk(root);
  parser.finish();
  return ex;
}

Experiment load_experiment(const std::string& path) {
  if (!fs::exists(path)) throw ConfigError(path, 0, "", "no such experiment file");
  try {
    return parse_experiment(read_whole_file(path, kMaxConfigFileBytes), path);
  } catch (const FormatError& e) {
    throw ConfigError(path, 0, "", e.reason());
  }
}

std::vector<SweepPoint> expand(const Experiment& ex) {
  std::vector<std::string> swept;
  std::size_t total = 1;
  for (const auto& axis : ex.axes) {
    for (const auto& k : axis) swept.push_back(k);
    const std::size_t n = ex.scalars.at(axis.front()).values.size();
    // Bounded before anything is allocated: a few lists can multiply to more points than memory.
    if (total > kMaxSweepPoints / n) {
      throw ConfigError(ex.file, ex.scalars.at(axis.front()).line, axis.front(),
                        fmt::format("the sweep has more than {} points; split it into several experiments", kMaxSweepPoints));
    }
    total *= n;
  }
  std::vector<SweepPoint> points;
  for (std::size_t i = 0; i < total; ++i) {
    SweepPoint p;
    p.index = static_cast<int>(i);
    p.swept = swept;
    for (const auto& [k, e] : ex.scalars) p.settings[k] = e.values.front();
    // Mixed radix, last axis fastest.
    std::size_t rest = i;
    for (std::size_t a = ex.axes.size(); a-- > 0;) {
      const std::size_t n = ex.scalars.at(ex.axes[a].front()).values.size();
      const std::size_t pick = rest % n;
      rest /= n;
      for (const auto& k : ex.axes[a]) p.settings[k] = ex.scalars.at(k).values[pick];
    }
    points.push_back(std::move(p));
  }
  return points;
}

hw::HwConfig point_hw_config(const Experiment& ex, const SweepPoint& p) {
  const std::string& path = p.str("hardware.config");
  hw::HwConfig cfg = hw::default_hw_config();
  if (!path.empty()) {
    if (!fs::is_regular_file(path)) {
      throw ConfigError(ex.file, key_line(ex, "hardware.config"), "hardware.config",
                        fmt::format("{}: no such hardware config file", path));
    }
    cfg = hw::load_hw_config(path);
  }
  const auto overrides = p.hw_overrides();
  if (!overrides.empty()) {
    try {
      cfg = hw::apply_overrides(cfg, overrides, ex.file);
    } catch (const ConfigError&) {
      throw;
    } catch (const InvalidArgument& e) {
      throw ConfigError(ex.file, key_line(ex, kHwSetPrefix + e.key()), kHwSetPrefix + e.key(),
                        fmt::format("{}: {}", point_where(p), e.what()));
    }
  }
  try {
    hw::check_mapping(cfg, static_cast<int>(p.integer("quantization.block_size")),
                      static_cast<int>(p.integer("quantization.wbits")));
  } catch (const InvalidArgument& e) {
    throw ConfigError(ex.file, key_line(ex, "quantization.block_size"), "quantization.block_size",
                      fmt::format("{}: {}", point_where(p), e.what()));
  }
  return cfg;
}

void validate(const Experiment& ex, const std::vector<SweepPoint>& points) {
  auto fail = [&](const std::string& key, const std::string& reason) {
    throw ConfigError(ex.file, key_line(ex, key), key, reason);
  };
  const std::string& model = ex.value("model");
  if (!fs::exists(model)) fail("model", fmt::format("{}: no such file or directory", model));
  const std::string& tokenizer = ex.value("tokenizer");
  if (!tokenizer.empty() && !fs::exists(tokenizer)) fail("tokenizer", fmt::format("{}: no such file", tokenizer));
  const std::string& data_dir = ex.value("data_dir");
  for (const auto& d : ex.lists.at("datasets")) {
    if (d == "c4" || d == "c4-new") {
      try {
        data::find_c4_shard(data_dir, data::kC4ValidationShard, "datasets");
      } catch (const InvalidArgument& e) {
        throw ConfigError(ex.file, 0, "datasets", e.reason());
      }
    } else {
      try {
        data::existing_dataset_file(d, data_dir, "datasets");
      } catch (const InvalidArgument& e) {
        throw ConfigError(ex.file, 0, "datasets", e.reason());
      }
    }
  }
  for (const auto& t : ex.lists.at("tasks")) {
    try {
      (void)data::read_task_file(t);
    } catch (const Error& e) {
      fail("tasks", e.what());
    }
  }
  const auto& backends = ex.lists.at("backends");
  if (backends.empty()) fail("backends", "must list at least one backend");
  auto has = [&](const char* b) { return std::find(backends.begin(), backends.end(), b) != backends.end(); };
  if (!ex.lists.at("systemc.layers").empty() && !has("systemc")) {
    fail("systemc.layers", "given but 'systemc' is not among the backends");
  }
  if (!ex.lists.at("systemc.layers").empty()) {
    std::vector<std::string> linears;
    try {
      linears = model::model_linear_names(model);
    } catch (const Error& e) {
      fail("model", e.what());
    }
    for (const std::string& l : ex.lists.at("systemc.layers")) {
      if (std::find(linears.begin(), linears.end(), l) != linears.end()) continue;
      fail("systemc.layers", fmt::format("'{}' is not a block Linear of {} (the first ones: {}{})", l, model,
                                         fmt::join(linears.begin(), linears.begin() + std::min<std::ptrdiff_t>(8, static_cast<std::ptrdiff_t>(linears.size())), ", "),
                                         linears.size() > 8 ? ", ..." : ""));
    }
  }
  for (const auto& p : points) {
    const std::string where = point_where(p);
    const std::string& calib = p.str("calibration.source");
    const bool builtin = calib == "self" || calib == "c4" || calib == "wikitext2" || calib == "ptb" || calib == "ptb-new";
    if (!builtin && !fs::is_regular_file(calib)) {
      fail("calibration.source", fmt::format("{}: '{}' is neither self, a dataset name nor a file", where, calib));
    }
    if (p.flag("normtweak.enabled")) {
      if (calib != "self" && (builtin || !is_token_file(calib))) {
        fail("normtweak.enabled", fmt::format("{}: norm tweaking needs calibration.source self or a token file "
                                              "(`oacim calib`), not '{}'", where, calib));
      }
    }
    // The quantizer's own checks, its errors named by this file's keys.
    check_quantize_options(ex, p, [&](const std::string& key, const std::string& reason) {
      fail(key, fmt::format("{}: {}", where, reason));
    });
    if (p.flag("normtweak.enabled") && p.str("normtweak.backend") == "hw") point_hw_config(ex, p);
    if (has("hw") || has("systemc")) point_hw_config(ex, p);
  }
}

}  // namespace oacim::sweep
