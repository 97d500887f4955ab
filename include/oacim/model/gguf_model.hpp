#pragma once
// LLaMA models in GGUF files (llama.cpp's format; docs/models.md "GGUF"): the hyper-parameters from
// the metadata (llama.embedding_length, feed_forward_length, block_count, attention.head_count(_kv),
// context_length, attention.layer_norm_rms_epsilon, rope.freq_base) and the tensors token_embd,
// blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_down, ffn_up},
// output_norm and output (absent: tied to token_embd), dequantized to fp32 as ggml does. GGUF keeps
// Q and K in the interleaved rotary layout (pairs 2i, 2i+1), as llama2.c does, so the weights go
// into the llama2.c layout unchanged. FormatError naming the file and the key or tensor. No torch.
#include <string>

#include "oacim/core/gguf.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/model_layout.hpp"

namespace oacim::model {

struct GgufLlama {
  Llama2cWeights weights;
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
};

// The configuration alone (no tensor is read): for the Linear layout.
Llama2cConfig gguf_llama_config(const GgufFile& file);
GgufLlama gguf_llama(const GgufFile& file);

// Tensor `name`, checked to have the ggml shape `shape` (row length first), dequantized as ggml
// does; FormatError naming the file and tensor when it is missing or of another shape.
std::vector<float> gguf_tensor_values(const GgufFile& file, const std::string& name, const std::vector<std::int64_t>& shape);

// The GGUF tensor holding block `layer`'s Linear of `role` ("blk.3.attn_q.weight").
std::string gguf_linear_tensor(int layer, LinearRole role);

// general.architecture, which must be one oacim reads ("llama" or "gpt2"); FormatError otherwise.
std::string gguf_architecture(const GgufFile& file);

// GPT-2 GGUF models (llama.cpp's converter): gpt2.embedding_length, feed_forward_length,
// block_count, attention.head_count, context_length, attention.layer_norm_epsilon; tensors
// token_embd, position_embd, blk.N.{attn_norm, attn_qkv, attn_output, ffn_norm, ffn_up,
// ffn_down} (weights [out, in] as ggml rows, with biases; attn_qkv holds q, k, v as row ranges),
// output_norm and output (absent: tied).
struct GgufGpt2Config {
  int dim = 0, ffn_dim = 0, n_layers = 0, n_heads = 0, vocab_size = 0, max_positions = 0;
  float norm_eps = 1e-5f;
};
GgufGpt2Config gguf_gpt2_config(const GgufFile& file);

// Where a GPT-2 block Linear lives: its tensor and its rows in it (q, k, v share attn_qkv).
struct GgufLinearRows {
  std::string tensor;
  int row_begin = 0, rows = 0;
};
GgufLinearRows gguf_gpt2_linear(int layer, LinearRole role, int dim, int ffn_dim);

}  // namespace oacim::model
