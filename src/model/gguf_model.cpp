#include "oacim/model/gguf_model.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::model {

namespace {

constexpr int kMaxBlocks = 1024;  // as for Hugging Face configs (docs/hardening.md)

int positive(const GgufFile& f, const std::string& key, std::int64_t max) {
  const std::int64_t v = f.int_value(key);
  if (v < 1 || v > max) throw FormatError(f.path(), fmt::format("metadata key '{}': {} is outside 1..{}", key, v, max));
  return static_cast<int>(v);
}

// The tensor `name` with the ggml shape `shape`, dequantized, appended to `out`.
void append_tensor(const GgufFile& f, const std::string& name, const std::vector<std::int64_t>& shape, std::vector<float>& out) {
  const std::vector<float> v = gguf_tensor_values(f, name, shape);
  out.insert(out.end(), v.begin(), v.end());
}

}  // namespace

std::vector<float> gguf_tensor_values(const GgufFile& f, const std::string& name, const std::vector<std::int64_t>& shape) {
  const GgufTensor* t = f.find_tensor(name);
  if (t == nullptr) throw FormatError(f.path(), fmt::format("tensor '{}' is missing", name));
  if (t->shape != shape) {
    throw FormatError(f.path(), fmt::format("tensor '{}' has shape [{}], the metadata says [{}]", name, fmt::join(t->shape, ", "),
                                            fmt::join(shape, ", ")));
  }
  return f.dequantize(*t);
}

std::string gguf_architecture(const GgufFile& f) {
  const std::string arch = f.string_value("general.architecture");
  if (arch != "llama" && arch != "gpt2") {
    throw FormatError(f.path(), fmt::format("metadata key 'general.architecture' is '{}'; oacim reads 'llama' and 'gpt2' GGUF models", arch));
  }
  return arch;
}

GgufGpt2Config gguf_gpt2_config(const GgufFile& f) {
  if (gguf_architecture(f) != "gpt2") throw FormatError(f.path(), "is not a 'gpt2' GGUF model");
  GgufGpt2Config c;
  c.dim = positive(f, "gpt2.embedding_length", 1 << 20);
  c.ffn_dim = f.has("gpt2.feed_forward_length") ? positive(f, "gpt2.feed_forward_length", 1 << 22) : 4 * c.dim;
  c.n_layers = positive(f, "gpt2.block_count", kMaxBlocks);
  c.n_heads = positive(f, "gpt2.attention.head_count", 1 << 16);
  c.max_positions = positive(f, "gpt2.context_length", 1 << 24);
  if (f.has("gpt2.attention.layer_norm_epsilon")) c.norm_eps = static_cast<float>(f.float_value("gpt2.attention.layer_norm_epsilon"));
  if (!(c.norm_eps > 0)) throw FormatError(f.path(), "metadata key 'gpt2.attention.layer_norm_epsilon' must be positive");
  if (c.dim % c.n_heads != 0) throw FormatError(f.path(), fmt::format("{} heads do not divide the width {}", c.n_heads, c.dim));
  const GgufTensor* embed = f.find_tensor("token_embd.weight");
  if (embed == nullptr || embed->shape.size() != 2 || embed->shape[0] != c.dim) {
    throw FormatError(f.path(), fmt::format("tensor 'token_embd.weight' is missing or not [{}, vocab]", c.dim));
  }
  c.vocab_size = static_cast<int>(embed->shape[1]);
  return c;
}

GgufLinearRows gguf_gpt2_linear(int layer, LinearRole role, int dim, int ffn_dim) {
  const std::string b = fmt::format("blk.{}.", layer);
  switch (role) {
    case LinearRole::Q: return {b + "attn_qkv.weight", 0, dim};
    case LinearRole::K: return {b + "attn_qkv.weight", dim, dim};
    case LinearRole::V: return {b + "attn_qkv.weight", 2 * dim, dim};
    case LinearRole::O: return {b + "attn_output.weight", 0, dim};
    case LinearRole::Fc1: return {b + "ffn_up.weight", 0, ffn_dim};
    case LinearRole::Fc2: return {b + "ffn_down.weight", 0, dim};
    default: throw InvalidArgument("role", "GPT-2 GGUF models have no gate/up/down Linears");
  }
}

Llama2cConfig gguf_llama_config(const GgufFile& f) {
  if (gguf_architecture(f) != "llama") throw FormatError(f.path(), "is not a 'llama' GGUF model");
  Llama2cConfig c;
  c.dim = positive(f, "llama.embedding_length", 1 << 20);
  c.hidden_dim = positive(f, "llama.feed_forward_length", 1 << 22);
  c.n_layers = positive(f, "llama.block_count", kMaxBlocks);
  c.n_heads = positive(f, "llama.attention.head_count", 1 << 16);
  c.n_kv_heads = f.has("llama.attention.head_count_kv") ? positive(f, "llama.attention.head_count_kv", 1 << 16) : c.n_heads;
  c.seq_len = positive(f, "llama.context_length", 1 << 24);
  if (c.dim % c.n_heads != 0 || c.n_heads % c.n_kv_heads != 0 || (c.dim / c.n_heads) % 2 != 0) {
    throw FormatError(f.path(), fmt::format("{} heads ({} for keys and values) do not divide the width {} into even heads",
                                            c.n_heads, c.n_kv_heads, c.dim));
  }
  const GgufTensor* embed = f.find_tensor("token_embd.weight");
  if (embed == nullptr || embed->shape.size() != 2 || embed->shape[0] != c.dim) {
    throw FormatError(f.path(), fmt::format("tensor 'token_embd.weight' is missing or not [{}, vocab]", c.dim));
  }
  c.vocab_size = static_cast<int>(embed->shape[1]);
  c.shared_classifier = f.find_tensor("output.weight") == nullptr;
  return c;
}

GgufLlama gguf_llama(const GgufFile& f) {
  GgufLlama m;
  Llama2cWeights& w = m.weights;
  w.config = gguf_llama_config(f);
  const Llama2cConfig& c = w.config;
  if (f.has("llama.attention.layer_norm_rms_epsilon")) m.norm_eps = static_cast<float>(f.float_value("llama.attention.layer_norm_rms_epsilon"));
  if (f.has("llama.rope.freq_base")) m.rope_theta = static_cast<float>(f.float_value("llama.rope.freq_base"));
  if (!(m.norm_eps > 0) || !(m.rope_theta > 0)) throw FormatError(f.path(), "the RMSNorm epsilon and the rotary base must be positive");
  const std::int64_t D = c.dim, H = c.hidden_dim, KV = c.kv_dim(), V = c.vocab_size;
  append_tensor(f, "token_embd.weight", {D, V}, w.tok_embeddings);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = fmt::format("blk.{}.", l);
    append_tensor(f, b + "attn_norm.weight", {D}, w.rms_att);
    append_tensor(f, b + "attn_q.weight", {D, D}, w.wq);
    append_tensor(f, b + "attn_k.weight", {D, KV}, w.wk);
    append_tensor(f, b + "attn_v.weight", {D, KV}, w.wv);
    append_tensor(f, b + "attn_output.weight", {D, D}, w.wo);
    append_tensor(f, b + "ffn_norm.weight", {D}, w.rms_ffn);
    append_tensor(f, b + "ffn_gate.weight", {D, H}, w.w1);
    append_tensor(f, b + "ffn_down.weight", {H, D}, w.w2);
    append_tensor(f, b + "ffn_up.weight", {D, H}, w.w3);
  }
  append_tensor(f, "output_norm.weight", {D}, w.rms_final);
  if (c.shared_classifier) {
    w.wcls = w.tok_embeddings;
  } else {
    append_tensor(f, "output.weight", {D, V}, w.wcls);
  }
  return m;
}

std::string gguf_linear_tensor(int layer, LinearRole role) {
  const char* name = "";
  switch (role) {
    case LinearRole::Q: name = "attn_q"; break;
    case LinearRole::K: name = "attn_k"; break;
    case LinearRole::V: name = "attn_v"; break;
    case LinearRole::O: name = "attn_output"; break;
    case LinearRole::Gate: name = "ffn_gate"; break;
    case LinearRole::Up: name = "ffn_up"; break;
    case LinearRole::Down: name = "ffn_down"; break;
    default: throw InvalidArgument("role", "LLaMA GGUF models have no fc1/fc2 Linears");
  }
  return fmt::format("blk.{}.{}.weight", layer, name);
}

}  // namespace oacim::model
