#pragma once
// An experiment file (`oacim run CONFIG`): parsed against the key table of experiment_schema.hpp,
// expanded into sweep points (a list on a scalar key is an axis; the points are the cartesian
// product of the axes, first axis outermost, with `sweep.zip` groups varying together), and
// validated point by point (files exist, hardware configs and overrides load, the weights map
// onto the macro, the quantizer options are legal) before anything runs. Every error is a
// ConfigError naming the file, the line, the key and the reason. No torch.
#include <map>
#include <string>
#include <vector>

#include "oacim/hw/hw_config.hpp"

namespace oacim::sweep {

struct Experiment {
  std::string file;                  // the YAML path (as given)
  std::string yaml_text;             // the file as read (kept in results.json)
  struct Entry {
    std::vector<std::string> values;  // one value: fixed; several: a sweep axis
    int line = 0;                     // 0: the table's default
  };
  std::map<std::string, Entry> scalars;                    // every scalar key, hardware.set.* included
  std::map<std::string, std::vector<std::string>> lists;   // list keys (datasets, backends, systemc.layers)
  std::vector<std::vector<std::string>> axes;              // each: the keys that vary together, in file order

  const std::string& value(const std::string& key) const;  // a fixed scalar (name, model, ...)
};

struct SweepPoint {
  int index = 0;
  std::map<std::string, std::string> settings;  // every scalar key resolved
  std::vector<std::string> swept;               // the keys that vary across the sweep

  const std::string& str(const std::string& key) const;
  long long integer(const std::string& key) const;
  double number(const std::string& key) const;
  bool flag(const std::string& key) const;
  bool off(const std::string& key) const;       // an OptNumber key set to `off`
  // The hardware overrides of this point (knob -> value).
  std::map<std::string, std::string> hw_overrides() const;
  // "quantization.method=oa hardware.config=narrow" (swept keys only; "default" for a single point).
  std::string label() const;
};

Experiment load_experiment(const std::string& path);
// `source` names the text in messages.
Experiment parse_experiment(const std::string& yaml_text, const std::string& source);

// The most points one experiment may expand to.
inline constexpr std::size_t kMaxSweepPoints = 100000;

// The sweep, in order. ConfigError (at the first zip key) when zipped lists differ in length, and
// (at the axis that crosses it) when the points would exceed kMaxSweepPoints.
std::vector<SweepPoint> expand(const Experiment& experiment);

// The resolved hardware config of a point: the config file (or the defaults) with the point's
// overrides applied and its weights' mapping checked.
hw::HwConfig point_hw_config(const Experiment& experiment, const SweepPoint& point);

// Everything that can be checked without running: paths, datasets, hardware configs, overrides,
// mapping, quantizer and tweak options, threshold/backends consistency. Throws ConfigError.
void validate(const Experiment& experiment, const std::vector<SweepPoint>& points);

}  // namespace oacim::sweep
