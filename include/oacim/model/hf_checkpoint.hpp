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

// The most decoder blocks a config may declare (the largest published decoders have ~130; the
// llama2.c header has the same bound): a larger count is a damaged file, not a model.
inline constexpr int kMaxModelBlocks = 1024;

class HfCheckpoint {
 public:
  static HfCheckpoint open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }
  std::string model_type() const;
  // config.json values; FormatError naming the key when missing or of the wrong type.
  int config_int(const std::string& key) const;
  int config_int(const std::string& key, int fallback) const;
  // A block count (num_hidden_layers, n_layer): as config_int, and at most kMaxModelBlocks.
  int config_blocks(const std::string& key) const;
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
