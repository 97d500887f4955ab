#pragma once
// OPT and GPT-2 decoders in libtorch: pre-LayerNorm blocks with learned positions (OPT offsets them
// by 2), multi-head attention with biases, a two-layer MLP (ReLU for OPT, GELU-tanh for GPT-2),
// final LayerNorm and a classifier tied to the token embedding. Every Linear is a QuantLinear;
// GPT-2's Conv1D weights ([in, out], q/k/v fused) are transposed and split at load time.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/model/decoder.hpp"
#include "oacim/model/quant_linear.hpp"

namespace oacim {
class GgufFile;
}

namespace oacim::model {

class HfCheckpoint;

struct GptSpec {
  enum class Family { Opt, Gpt2 } family = Family::Opt;
  int dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int ffn_dim = 0;
  int vocab_size = 0;
  int max_positions = 0;   // usable positions (OPT: table rows - 2)
  int position_offset = 0; // OPT: 2
  float ln_eps = 1e-5f;
  // A shape for random models (tests, benchmarks): OPT's positions offset by 2, GPT-2's by 0.
  static GptSpec shape(Family family, int dim, int n_layers, int n_heads, int ffn_dim, int vocab_size, int max_positions) {
    GptSpec s;
    s.family = family;
    s.dim = dim;
    s.n_layers = n_layers;
    s.n_heads = n_heads;
    s.ffn_dim = ffn_dim;
    s.vocab_size = vocab_size;
    s.max_positions = max_positions;
    s.position_offset = family == Family::Opt ? 2 : 0;
    return s;
  }
};

class GptModel : public Decoder {
 public:
  // model_type "opt" or "gpt2"; FormatError naming file and tensor otherwise.
  static GptModel from_hf(const HfCheckpoint& ckpt);
  // A GPT-2 GGUF file (gguf_model.hpp), tensors dequantized as ggml does (gpt_gguf.cpp).
  static GptModel from_gguf(const GgufFile& file);
  // Gaussian weights (std 0.02, zero biases, unit norms) of any shape: benchmarks.
  static GptModel random(const GptSpec& spec, std::uint64_t seed);

  const GptSpec& spec() const { return spec_; }

  std::string family() const override { return spec_.family == GptSpec::Family::Opt ? "opt" : "gpt2"; }
  int num_blocks() const override { return static_cast<int>(layers_.size()); }
  int max_positions() const override { return spec_.max_positions; }
  int vocab_size() const override { return spec_.vocab_size; }
  at::Tensor embed(const std::vector<int>& tokens) const override;
  at::Tensor block_forward(int l, const at::Tensor& x, Backend backend) const override;
  at::Tensor head(const at::Tensor& x, Backend backend) const override;
  std::vector<QuantLinear*> block_linears(int l) override;
  std::vector<std::vector<QuantLinear*>> sequential_groups(int l) override;
  QuantLinear* classifier() override { return classifier_.get(); }
  std::vector<std::pair<std::string, at::Tensor*>> block_norm_params(int l) override;
  std::vector<std::pair<std::string, at::Tensor*>> named_tensors() override;
  KvCache new_cache(int batch) const override;
  at::Tensor decode_step(const std::vector<int>& tokens, int pos, KvCache& cache, Backend backend) const override;

 private:
  // x [T, dim] or [B, T, dim] at positions pos0..; with a cache, keys and values go there and
  // attention reads every cached position before them.
  at::Tensor block(int l, const at::Tensor& x, int pos0, KvCache* cache, Backend backend) const;
  struct Layer {
    at::Tensor ln1_w, ln1_b, ln2_w, ln2_b;
    std::unique_ptr<QuantLinear> q, k, v, o, fc1, fc2;
  };
  GptSpec spec_;
  at::Tensor embed_, positions_;
  at::Tensor lnf_w_, lnf_b_;
  std::vector<Layer> layers_;
  std::unique_ptr<QuantLinear> classifier_;
};

}  // namespace oacim::model
