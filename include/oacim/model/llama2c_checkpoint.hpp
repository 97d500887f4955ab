#pragma once
// llama2.c checkpoints (`model.bin`, legacy v0 layout): a header of 7 int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier
// is not shared with the embedding), then fp32 tensors in a fixed order, Linear weights as
// [out, in]. The file size must match the header exactly; anything else is a FormatError naming
// the file and the tensor that does not fit. No torch.
#include <cstdint>
#include <string>
#include <vector>

namespace oacim::model {

struct Llama2cConfig {
  int dim = 0;
  int hidden_dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int vocab_size = 0;
  int seq_len = 0;
  bool shared_classifier = true;
  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return n_kv_heads * head_size(); }
};

struct Llama2cWeights {
  Llama2cConfig config;
  std::vector<float> tok_embeddings;  // [vocab, dim]
  std::vector<float> rms_att;         // [L, dim]
  std::vector<float> wq;              // [L, dim, dim]
  std::vector<float> wk;              // [L, kv_dim, dim]
  std::vector<float> wv;              // [L, kv_dim, dim]
  std::vector<float> wo;              // [L, dim, dim]
  std::vector<float> rms_ffn;         // [L, dim]
  std::vector<float> w1;              // [L, hidden, dim]
  std::vector<float> w2;              // [L, dim, hidden]
  std::vector<float> w3;              // [L, hidden, dim]
  std::vector<float> rms_final;       // [dim]
  std::vector<float> wcls;            // [vocab, dim]: a copy of tok_embeddings when shared
};

Llama2cWeights load_llama2c(const std::string& path);
// The header alone, validated as load_llama2c does (no weights are read).
Llama2cConfig read_llama2c_config(const std::string& path);

}  // namespace oacim::model
