#pragma once
// Hugging Face checkpoint directories: `config.json` plus `model.safetensors`, or shards listed by
// `model.safetensors.index.json` (weight_map: tensor -> shard). Tensors are memory-mapped by the
// core safetensors reader and copied out as fp32 (F32, F16 and BF16 are accepted). Every error
// names the file and the key or tensor. Everything but tensor() is torch-free (hf_checkpoint.cpp);
// tensor() lives in hf_tensor.cpp.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oacim/core/safetensors.hpp"

namespace at {
class Tensor;
}

namespace oacim::model {

class HfCheckpoint {
 public:
  static HfCheckpoint open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }
  std::string model_type() const;
  // config.json values; FormatError naming the key when missing or of the wrong type.
  int config_int(const std::string& key) const;
  int config_int(const std::string& key, int fallback) const;
  double config_number(const std::string& key, double fallback) const;
  bool config_bool(const std::string& key, bool fallback) const;

  bool contains(const std::string& tensor) const { return where_.count(tensor) != 0; }
  // fp32 copy of a tensor with exactly `shape`.
  at::Tensor tensor(const std::string& name, const std::vector<std::int64_t>& shape) const;

 private:
  std::string dir_;
  std::string config_path_;
  nlohmann::json config_;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> files_;  // by file name
  std::map<std::string, std::string> where_;                       // tensor -> file name
};

}  // namespace oacim::model
