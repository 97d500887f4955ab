// GptModel from a GPT-2 GGUF file: ggml's rows are the Linears' output rows, so the weights need no
// transpose (Hugging Face's Conv1D ones do); attn_qkv's rows are q, k and v one after the other.
#include <cstring>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/core/gguf.hpp"
#include "oacim/model/gguf_model.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/model_layout.hpp"

namespace oacim::model {

namespace {

// The tensor of ggml shape `shape` (row length first) as a torch tensor of the reversed shape.
at::Tensor gguf_tensor(const GgufFile& f, const std::string& name, const std::vector<std::int64_t>& shape) {
  const std::vector<float> v = gguf_tensor_values(f, name, shape);
  at::Tensor out = at::empty(std::vector<std::int64_t>(shape.rbegin(), shape.rend()), at::kFloat);
  std::memcpy(out.data_ptr<float>(), v.data(), v.size() * sizeof(float));
  return out;
}

}  // namespace

GptModel GptModel::from_gguf(const GgufFile& f) {
  const GgufGpt2Config c = gguf_gpt2_config(f);
  GptModel m;
  GptSpec& s = m.spec_;
  s.family = GptSpec::Family::Gpt2;
  s.dim = c.dim;
  s.n_layers = c.n_layers;
  s.n_heads = c.n_heads;
  s.ffn_dim = c.ffn_dim;
  s.vocab_size = c.vocab_size;
  s.max_positions = c.max_positions;
  s.ln_eps = c.norm_eps;
  const std::int64_t D = c.dim, F = c.ffn_dim;
  m.embed_ = gguf_tensor(f, "token_embd.weight", {D, c.vocab_size});
  m.positions_ = gguf_tensor(f, "position_embd.weight", {D, c.max_positions});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = fmt::format("blk.{}.", l);
    const auto name = [&](LinearRole r) { return linear_name(LinearNaming::Gpt2, l, r); };
    Layer L;
    L.ln1_w = gguf_tensor(f, b + "attn_norm.weight", {D});
    L.ln1_b = gguf_tensor(f, b + "attn_norm.bias", {D});
    L.ln2_w = gguf_tensor(f, b + "ffn_norm.weight", {D});
    L.ln2_b = gguf_tensor(f, b + "ffn_norm.bias", {D});
    const at::Tensor qkv_w = gguf_tensor(f, b + "attn_qkv.weight", {D, 3 * D}), qkv_b = gguf_tensor(f, b + "attn_qkv.bias", {3 * D});
    L.q = std::make_unique<QuantLinear>(name(LinearRole::Q), qkv_w.narrow(0, 0, D).contiguous(), qkv_b.narrow(0, 0, D).contiguous());
    L.k = std::make_unique<QuantLinear>(name(LinearRole::K), qkv_w.narrow(0, D, D).contiguous(), qkv_b.narrow(0, D, D).contiguous());
    L.v = std::make_unique<QuantLinear>(name(LinearRole::V), qkv_w.narrow(0, 2 * D, D).contiguous(), qkv_b.narrow(0, 2 * D, D).contiguous());
    L.o = std::make_unique<QuantLinear>(name(LinearRole::O), gguf_tensor(f, b + "attn_output.weight", {D, D}),
                                        gguf_tensor(f, b + "attn_output.bias", {D}));
    L.fc1 = std::make_unique<QuantLinear>(name(LinearRole::Fc1), gguf_tensor(f, b + "ffn_up.weight", {D, F}),
                                          gguf_tensor(f, b + "ffn_up.bias", {F}));
    L.fc2 = std::make_unique<QuantLinear>(name(LinearRole::Fc2), gguf_tensor(f, b + "ffn_down.weight", {F, D}),
                                          gguf_tensor(f, b + "ffn_down.bias", {D}));
    m.layers_.push_back(std::move(L));
  }
  m.lnf_w_ = gguf_tensor(f, "output_norm.weight", {D});
  m.lnf_b_ = gguf_tensor(f, "output_norm.bias", {D});
  m.classifier_ = std::make_unique<QuantLinear>("lm_head", f.find_tensor("output.weight") != nullptr
                                                               ? gguf_tensor(f, "output.weight", {D, c.vocab_size})
                                                               : m.embed_.clone());
  return m;
}

}  // namespace oacim::model
