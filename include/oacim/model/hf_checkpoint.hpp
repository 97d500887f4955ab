#pragma once
// Hugging Face checkpoint directories: `config.json` plus `model.safetensors`, or shards listed by
// `model.safetensors.index.json` (weight_map: tensor -> shard). Tensors are memory-mapped by the
// core safetensors reader and copied out as fp32 (F32, F16 and BF16 are accepted). Every error
// names the file and the key or tensor. Everything but tensor() is torch-free (hf_checkpoint.cpp);
// tensor() lives in hf_tensor.cpp.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oacim/core/gptq_format.hpp"
#include "oacim/core/safetensors.hpp"

namespace at {
class Tensor;
}

namespace oacim::model {

// The most decoder blocks a config may declare (the largest published decoders have ~130; the
// llama2.c header has the same bound): a larger count is a damaged file, not a model.
inline constexpr int kMaxModelBlocks = 1024;

// A GPTQ checkpoint's quantization: config.json's "quantization_config" (transformers) or
// quantize_config.json (AutoGPTQ, GPTQModel). docs/models.md "GPTQ checkpoints".
struct GptqQuantization {
  int bits = 4;
  int group_size = -1;   // -1: one group per row
  bool desc_act = false;
  bool sym = true;
  GptqZeros zeros = GptqZeros::V1;  // checkpoint_format "gptq" (zero - 1 stored) or "gptq_v2"
  std::string source;    // the file it was read from
};

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
  // The names of every tensor, sorted; the file that holds one (FormatError when missing).
  std::vector<std::string> tensor_names() const;
  const SafetensorsFile& file_of(const std::string& tensor) const;
  // fp32 copy of a tensor with exactly `shape`. A GPTQ Linear's "<name>.weight" is its
  // dequantized qweight (scale * (q - zero), in the checkpoint's column order).
  at::Tensor tensor(const std::string& name, const std::vector<std::int64_t>& shape) const;

  // tensor()'s checks that need no copy: present (or a GPTQ Linear's weight), `shape`, a float
  // dtype. FormatError naming the file and tensor.
  void check_tensor(const std::string& name, const std::vector<std::int64_t>& shape) const;

  // GPTQ (hf_gptq.cpp): the quantization when the checkpoint is one, and the tensors of Linear
  // `name` of `out` x `in` (qweight, qzeros, scales, g_idx; without g_idx, groups in column
  // order), checked against the shape. FormatError naming the file and tensor.
  const std::optional<GptqQuantization>& gptq() const { return gptq_; }
  bool is_gptq_linear(const std::string& name) const { return gptq_ && contains(name + ".qweight"); }
  GptqLayer gptq_layer(const std::string& name, int out, int in) const;
  GptqImport gptq_import(const std::string& name, int out, int in) const;  // onto the cells, exact

 private:
  void read_gptq_config();
  std::string dir_;
  std::optional<GptqQuantization> gptq_;
  std::string config_path_;
  nlohmann::json config_;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> files_;  // by file name
  std::map<std::string, std::string> where_;                       // tensor -> file name
};

// A Linear's weight made on demand (model::WeightSource): check_tensor now, tensor() at each call,
// so a model built from the checkpoint holds no fp32 copy of a weight it has not used. The source
// keeps `checkpoint` and its mapped files alive.
std::function<at::Tensor()> tensor_source(std::shared_ptr<const HfCheckpoint> checkpoint, const std::string& name,
                                          std::vector<std::int64_t> shape);

}  // namespace oacim::model
