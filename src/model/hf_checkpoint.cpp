#include "oacim/model/hf_checkpoint.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"

namespace fs = std::filesystem;

namespace oacim::model {

HfCheckpoint HfCheckpoint::open(const std::string& dir) {
  HfCheckpoint c;
  c.dir_ = dir;
  c.config_path_ = (fs::path(dir) / "config.json").string();
  if (!fs::is_directory(dir)) throw FormatError(dir, "is not a directory");
  c.config_ = read_json_file(c.config_path_);
  if (!c.config_.is_object()) throw FormatError(c.config_path_, "the top level must be an object");
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  auto open_file = [&](const std::string& name) {
    if (!c.files_.count(name)) c.files_[name] = std::make_shared<SafetensorsFile>(SafetensorsFile::open((fs::path(dir) / name).string()));
    return c.files_[name];
  };
  if (fs::exists(index)) {
    const nlohmann::json idx = read_json_file(index.string());
    if (!idx.contains("weight_map") || !idx["weight_map"].is_object()) {
      throw FormatError(index.string(), "no 'weight_map' object");
    }
    for (const auto& [tensor, file] : idx["weight_map"].items()) {
      if (!file.is_string()) throw FormatError(index.string(), fmt::format("weight_map['{}'] is not a file name", tensor));
      const std::string f = file.get<std::string>();
      if (f.find('/') != std::string::npos) throw FormatError(index.string(), fmt::format("shard '{}' is outside the directory", f));
      if (!open_file(f)->contains(tensor)) {
        throw FormatError((fs::path(dir) / f).string(), fmt::format("tensor '{}' is missing (the index lists it here)", tensor));
      }
      c.where_[tensor] = f;
    }
  } else if (fs::exists(single)) {
    for (const auto& name : open_file("model.safetensors")->names()) c.where_[name] = "model.safetensors";
  } else {
    throw FormatError(dir, "no model.safetensors or model.safetensors.index.json (pytorch_model.bin is not read: "
                           "convert it to safetensors)");
  }
  c.read_gptq_config();
  return c;
}

std::vector<std::string> HfCheckpoint::tensor_names() const {
  std::vector<std::string> out;
  for (const auto& [name, file] : where_) out.push_back(name);
  return out;
}

const SafetensorsFile& HfCheckpoint::file_of(const std::string& tensor) const {
  const auto it = where_.find(tensor);
  if (it == where_.end()) throw FormatError(dir_, fmt::format("tensor '{}' is missing", tensor));
  return *files_.at(it->second);
}

std::string HfCheckpoint::model_type() const {
  if (!config_.contains("model_type") || !config_["model_type"].is_string()) {
    throw FormatError(config_path_, "key 'model_type' is missing or not a string");
  }
  return config_["model_type"].get<std::string>();
}

int HfCheckpoint::config_int(const std::string& key) const {
  if (!config_.contains(key) || !config_[key].is_number_integer()) {
    throw FormatError(config_path_, fmt::format("key '{}' is missing or not an integer", key));
  }
  const auto v = config_[key].get<std::int64_t>();
  if (v <= 0 || v > (1 << 30)) throw FormatError(config_path_, fmt::format("key '{}' = {} is out of range", key, v));
  return static_cast<int>(v);
}

int HfCheckpoint::config_blocks(const std::string& key) const {
  const int v = config_int(key);
  if (v > kMaxModelBlocks) {
    throw FormatError(config_path_, fmt::format("key '{}' = {} blocks is more than the {} any decoder has", key, v,
                                                kMaxModelBlocks));
  }
  return v;
}

int HfCheckpoint::config_int(const std::string& key, int fallback) const {
  return config_.contains(key) && !config_[key].is_null() ? config_int(key) : fallback;
}

double HfCheckpoint::config_number(const std::string& key, double fallback) const {
  if (!config_.contains(key) || config_[key].is_null()) return fallback;
  if (!config_[key].is_number()) throw FormatError(config_path_, fmt::format("key '{}' is not a number", key));
  return config_[key].get<double>();
}

bool HfCheckpoint::config_bool(const std::string& key, bool fallback) const {
  if (!config_.contains(key) || config_[key].is_null()) return fallback;
  if (!config_[key].is_boolean()) throw FormatError(config_path_, fmt::format("key '{}' is not true/false", key));
  return config_[key].get<bool>();
}

}  // namespace oacim::model
