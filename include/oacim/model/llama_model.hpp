#pragma once
// A LLaMA-architecture decoder in libtorch (RMSNorm, rotary embeddings, SwiGLU MLP, grouped-query
// attention), fp32 on CPU. Every Linear is a QuantLinear, run by the backend the caller names.
// Built from llama2.c checkpoints (interleaved rotary pairs, as llama2.c and Meta's original code
// rotate them) or Hugging Face `llama` directories (rotate-half pairs, as transformers does).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "oacim/model/decoder.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/quant_linear.hpp"

namespace oacim::model {

class HfCheckpoint;

struct LlamaSpec {
  int dim = 0;
  int hidden_dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int vocab_size = 0;
  int max_seq_len = 0;
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  bool rope_interleaved = true;  // pairs (2i, 2i+1); false: (i, i + head_size/2)
  int head_size() const { return dim / n_heads; }
};

class LlamaModel : public Decoder {
 public:
  static LlamaModel from_llama2c(const Llama2cWeights& w, float norm_eps = 1e-5f, float rope_theta = 10000.0f);
  // model_type "llama"; FormatError naming the file and tensor for anything missing or misshapen.
  static LlamaModel from_hf(const HfCheckpoint& ckpt);

  const LlamaSpec& spec() const { return spec_; }

  std::string family() const override { return "llama"; }
  int num_blocks() const override { return spec_.n_layers; }
  int max_positions() const override { return spec_.max_seq_len; }
  int vocab_size() const override { return spec_.vocab_size; }
  at::Tensor embed(const std::vector<int>& tokens) const override;
  at::Tensor block_forward(int l, const at::Tensor& x, Backend backend) const override {
    return block(l, x, 0, nullptr, backend);
  }
  at::Tensor head(const at::Tensor& x, Backend backend) const override;
  std::vector<QuantLinear*> block_linears(int l) override;
  std::vector<std::vector<QuantLinear*>> sequential_groups(int l) override;
  QuantLinear* classifier() override { return classifier_.get(); }
  std::vector<std::pair<std::string, at::Tensor*>> block_norm_params(int l) override;
  std::vector<std::pair<std::string, at::Tensor*>> named_tensors() override;

  KvCache new_cache(int batch) const override;
  at::Tensor decode_step(const std::vector<int>& tokens, int pos, KvCache& cache, Backend backend) const override;
  // One sequence: logits [vocab] of `token` at position `pos`.
  at::Tensor step(int token, int pos, KvCache& cache, Backend backend) const {
    return decode_step({token}, pos, cache, backend).reshape({-1});
  }

 private:
  struct Layer {
    at::Tensor attn_norm, ffn_norm;
    std::unique_ptr<QuantLinear> q, k, v, o, gate, up, down;
  };
  // x [T, dim] or [B, T, dim] at positions pos0..pos0+T-1; with a cache, keys and values are
  // written there and attention reads every cached position before them.
  at::Tensor block(int l, const at::Tensor& x, int pos0, KvCache* cache, Backend backend) const;
  at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& w) const;
  at::Tensor rope(const at::Tensor& x, int pos0) const;  // x [B, T, heads, head_size]

  LlamaSpec spec_;
  at::Tensor embed_;  // [vocab, dim]
  std::vector<Layer> layers_;
  at::Tensor final_norm_;
  std::unique_ptr<QuantLinear> classifier_;
  // [positions built so far, head_size / 2]: grown on demand up to max_seq_len, so a config that
  // allows 2^27 positions costs only the positions a run uses. Not thread-safe (nor is forward()).
  mutable at::Tensor rope_cos_, rope_sin_;
  void ensure_rope_tables(int positions) const;
};

// llama2.c's generation loop: feeds the prompt, then the sampled tokens, stops at BOS or after
// `steps` positions. Returns the prompt followed by the generated tokens. `sample` gets the fp32
// logits of one position.
std::vector<int> generate(const LlamaModel& model, const std::vector<int>& prompt, int steps, Backend backend,
                          const std::function<int(std::vector<float>)>& sample);
// Greedy decoding (llama2.c `run -t 0`).
std::vector<int> generate_greedy(const LlamaModel& model, const std::vector<int>& prompt, int steps, Backend backend);

}  // namespace oacim::model
