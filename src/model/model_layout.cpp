#include "oacim/model/model_layout.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/model/gguf_model.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"

namespace oacim::model {

const std::vector<LinearRole>& block_roles(LinearNaming naming) {
  using R = LinearRole;
  static const std::vector<LinearRole> kLlama = {R::Q, R::K, R::V, R::O, R::Gate, R::Up, R::Down};
  static const std::vector<LinearRole> kGpt = {R::Q, R::K, R::V, R::O, R::Fc1, R::Fc2};
  return naming == LinearNaming::Llama2c || naming == LinearNaming::HfLlama ? kLlama : kGpt;
}

namespace {

const char* suffix(LinearNaming naming, LinearRole role) {
  using R = LinearRole;
  switch (naming) {
    case LinearNaming::Llama2c:
      switch (role) {
        case R::Q: return "attention.wq";
        case R::K: return "attention.wk";
        case R::V: return "attention.wv";
        case R::O: return "attention.wo";
        case R::Gate: return "feed_forward.w1";
        case R::Down: return "feed_forward.w2";
        case R::Up: return "feed_forward.w3";
        default: break;
      }
      break;
    case LinearNaming::HfLlama:
      switch (role) {
        case R::Q: return "self_attn.q_proj";
        case R::K: return "self_attn.k_proj";
        case R::V: return "self_attn.v_proj";
        case R::O: return "self_attn.o_proj";
        case R::Gate: return "mlp.gate_proj";
        case R::Up: return "mlp.up_proj";
        case R::Down: return "mlp.down_proj";
        default: break;
      }
      break;
    case LinearNaming::Opt:
      switch (role) {
        case R::Q: return "self_attn.q_proj";
        case R::K: return "self_attn.k_proj";
        case R::V: return "self_attn.v_proj";
        case R::O: return "self_attn.out_proj";
        case R::Fc1: return "fc1";
        case R::Fc2: return "fc2";
        default: break;
      }
      break;
    case LinearNaming::Gpt2:
      switch (role) {
        case R::Q: return "attn.q";
        case R::K: return "attn.k";
        case R::V: return "attn.v";
        case R::O: return "attn.c_proj";
        case R::Fc1: return "mlp.c_fc";
        case R::Fc2: return "mlp.c_proj";
        default: break;
      }
      break;
  }
  throw InvariantError("linear_name: a role the family does not have");
}

}  // namespace

std::string linear_name(LinearNaming naming, int layer, LinearRole role, const std::string& gpt2_prefix) {
  switch (naming) {
    case LinearNaming::Llama2c: return fmt::format("layers.{}.{}", layer, suffix(naming, role));
    case LinearNaming::HfLlama: return fmt::format("model.layers.{}.{}", layer, suffix(naming, role));
    case LinearNaming::Opt: return fmt::format("model.decoder.layers.{}.{}", layer, suffix(naming, role));
    case LinearNaming::Gpt2: return fmt::format("{}h.{}.{}", gpt2_prefix, layer, suffix(naming, role));
  }
  return "";
}

std::vector<std::string> model_linear_names(const std::string& path) {
  LinearNaming naming = LinearNaming::Llama2c;
  int layers = 0;
  std::string prefix;
  if (std::filesystem::is_directory(path)) {
    const HfCheckpoint ck = HfCheckpoint::open(path);
    const std::string type = ck.model_type();
    if (type == "llama") {
      naming = LinearNaming::HfLlama;
      layers = ck.config_blocks("num_hidden_layers");
    } else if (type == "opt") {
      naming = LinearNaming::Opt;
      layers = ck.config_blocks("num_hidden_layers");
    } else if (type == "gpt2") {
      naming = LinearNaming::Gpt2;
      layers = ck.config_blocks("n_layer");
      prefix = ck.contains("transformer.wte.weight") ? "transformer." : "";
    } else {
      throw FormatError(path + "/config.json", fmt::format("model_type '{}' is not llama, opt or gpt2", type));
    }
  } else if (is_gguf_file(path)) {
    const GgufFile f = GgufFile::open(path);
    if (gguf_architecture(f) == "gpt2") {
      naming = LinearNaming::Gpt2;
      layers = gguf_gpt2_config(f).n_layers;
    } else {
      layers = gguf_llama_config(f).n_layers;
    }
  } else {
    layers = read_llama2c_config(path).n_layers;
  }
  std::vector<std::string> names;
  for (int l = 0; l < layers; ++l) {
    for (LinearRole r : block_roles(naming)) names.push_back(linear_name(naming, l, r, prefix));
  }
  return names;
}

}  // namespace oacim::model
