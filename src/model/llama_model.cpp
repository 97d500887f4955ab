#include "oacim/model/llama_model.hpp"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/model_layout.hpp"

namespace oacim::model {

namespace {

at::Tensor tensor_from(const std::vector<float>& v, std::vector<std::int64_t> shape, std::size_t offset = 0) {
  return at::from_blob(const_cast<float*>(v.data() + offset), shape, at::kFloat).clone();
}

}  // namespace

LlamaModel LlamaModel::from_llama2c(const Llama2cWeights& w, float norm_eps, float rope_theta) {
  const Llama2cConfig& c = w.config;
  LlamaModel m;
  m.spec_ = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len, norm_eps, rope_theta, true};
  const std::int64_t D = c.dim, H = c.hidden_dim, KV = c.kv_dim();
  m.embed_ = tensor_from(w.tok_embeddings, {c.vocab_size, D});
  for (int l = 0; l < c.n_layers; ++l) {
    Layer L;
    const std::string p = "layers." + std::to_string(l) + ".";
    L.attn_norm = tensor_from(w.rms_att, {D}, static_cast<std::size_t>(l * D));
    L.ffn_norm = tensor_from(w.rms_ffn, {D}, static_cast<std::size_t>(l * D));
    const auto name = [l](LinearRole r) { return linear_name(LinearNaming::Llama2c, l, r); };
    const auto at = [](std::int64_t layer, std::int64_t size) { return static_cast<std::size_t>(layer * size); };
    L.q = std::make_unique<QuantLinear>(name(LinearRole::Q), tensor_from(w.wq, {D, D}, at(l, D * D)));
    L.k = std::make_unique<QuantLinear>(name(LinearRole::K), tensor_from(w.wk, {KV, D}, at(l, KV * D)));
    L.v = std::make_unique<QuantLinear>(name(LinearRole::V), tensor_from(w.wv, {KV, D}, at(l, KV * D)));
    L.o = std::make_unique<QuantLinear>(name(LinearRole::O), tensor_from(w.wo, {D, D}, at(l, D * D)));
    L.gate = std::make_unique<QuantLinear>(name(LinearRole::Gate), tensor_from(w.w1, {H, D}, at(l, H * D)));
    L.down = std::make_unique<QuantLinear>(name(LinearRole::Down), tensor_from(w.w2, {D, H}, at(l, D * H)));
    L.up = std::make_unique<QuantLinear>(name(LinearRole::Up), tensor_from(w.w3, {H, D}, at(l, H * D)));
    m.layers_.push_back(std::move(L));
  }
  m.final_norm_ = tensor_from(w.rms_final, {D});
  m.classifier_ = std::make_unique<QuantLinear>("output", tensor_from(w.wcls, {c.vocab_size, D}));
  return m;
}

void LlamaModel::ensure_rope_tables(int positions) const {
  const int built = rope_cos_.defined() ? static_cast<int>(rope_cos_.size(0)) : 0;
  if (positions <= built) return;
  // Pair i of a head turns by pos / theta^(2i / head_size), as llama2.c and transformers compute it;
  // every entry depends on its position alone, so a grown table holds the same values.
  const int n = std::min(spec_.max_seq_len, std::max({positions, 2 * built, 256}));
  const int hs = spec_.head_size();
  std::vector<float> cosv(static_cast<std::size_t>(n) * hs / 2), sinv(cosv.size());
  for (int pos = 0; pos < n; ++pos) {
    for (int i = 0; i < hs / 2; ++i) {
      const float freq = 1.0f / std::pow(spec_.rope_theta, static_cast<float>(2 * i) / static_cast<float>(hs));
      const float val = static_cast<float>(pos) * freq;
      cosv[static_cast<std::size_t>(pos) * hs / 2 + i] = std::cos(val);
      sinv[static_cast<std::size_t>(pos) * hs / 2 + i] = std::sin(val);
    }
  }
  rope_cos_ = tensor_from(cosv, {n, hs / 2});
  rope_sin_ = tensor_from(sinv, {n, hs / 2});
}

LlamaModel LlamaModel::from_hf(const HfCheckpoint& ck) {
  const std::string type = ck.model_type();
  if (type != "llama") {
    throw FormatError(ck.dir() + "/config.json",
                      fmt::format("model_type '{}' is not supported by the LLaMA decoder (supported: llama; OPT "
                                  "and GPT-2 decoders are not built yet)",
                                  type));
  }
  LlamaModel m;
  LlamaSpec& s = m.spec_;
  s.dim = ck.config_int("hidden_size");
  s.hidden_dim = ck.config_int("intermediate_size");
  s.n_layers = ck.config_blocks("num_hidden_layers");
  s.n_heads = ck.config_int("num_attention_heads");
  s.n_kv_heads = ck.config_int("num_key_value_heads", s.n_heads);
  s.vocab_size = ck.config_int("vocab_size");
  s.max_seq_len = ck.config_int("max_position_embeddings");
  s.norm_eps = static_cast<float>(ck.config_number("rms_norm_eps", 1e-6));
  s.rope_theta = static_cast<float>(ck.config_number("rope_theta", 10000.0));
  s.rope_interleaved = false;
  if (s.dim % s.n_heads != 0 || s.n_heads % s.n_kv_heads != 0 || s.head_size() % 2 != 0) {
    throw FormatError(ck.dir() + "/config.json",
                      fmt::format("hidden_size {} / num_attention_heads {} / num_key_value_heads {} do not split into "
                                  "even heads",
                                  s.dim, s.n_heads, s.n_kv_heads));
  }
  const std::int64_t D = s.dim, H = s.hidden_dim, KV = static_cast<std::int64_t>(s.n_kv_heads) * s.head_size();
  m.embed_ = ck.tensor("model.embed_tokens.weight", {s.vocab_size, D});
  // Linear weights are made from the mapped checkpoint when first used (hf_checkpoint.hpp).
  const auto shared = std::make_shared<const HfCheckpoint>(ck);
  for (int l = 0; l < s.n_layers; ++l) {
    Layer L;
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto lin = [&](LinearRole r, std::int64_t out, std::int64_t in) {
      const std::string name = linear_name(LinearNaming::HfLlama, l, r);
      return std::make_unique<QuantLinear>(name, tensor_source(shared, name + ".weight", {out, in}), static_cast<int>(out),
                                           static_cast<int>(in));
    };
    L.attn_norm = ck.tensor(p + "input_layernorm.weight", {D});
    L.ffn_norm = ck.tensor(p + "post_attention_layernorm.weight", {D});
    L.q = lin(LinearRole::Q, D, D);
    L.k = lin(LinearRole::K, KV, D);
    L.v = lin(LinearRole::V, KV, D);
    L.o = lin(LinearRole::O, D, D);
    L.gate = lin(LinearRole::Gate, H, D);
    L.up = lin(LinearRole::Up, H, D);
    L.down = lin(LinearRole::Down, D, H);
    m.layers_.push_back(std::move(L));
  }
  m.final_norm_ = ck.tensor("model.norm.weight", {D});
  const bool tied = ck.config_bool("tie_word_embeddings", false) || !ck.contains("lm_head.weight");
  m.classifier_ = std::make_unique<QuantLinear>(
      "lm_head", tensor_source(shared, tied ? "model.embed_tokens.weight" : "lm_head.weight", {s.vocab_size, D}), s.vocab_size,
      s.dim);
  return m;
}

at::Tensor LlamaModel::rms_norm(const at::Tensor& x, const at::Tensor& w) const {
  return w * (x * at::rsqrt(x.pow(2).mean(-1, true) + spec_.norm_eps));
}

at::Tensor LlamaModel::rope(const at::Tensor& x, int pos0) const {
  const std::int64_t T = x.size(1);
  ensure_rope_tables(pos0 + static_cast<int>(T));
  const at::Tensor c = rope_cos_.narrow(0, pos0, T).unsqueeze(1);  // [T, 1, hs/2] against [B, T, H, hs/2]
  const at::Tensor s = rope_sin_.narrow(0, pos0, T).unsqueeze(1);
  if (!spec_.rope_interleaved) {  // transformers' rotate_half: pairs (i, i + head_size / 2)
    const std::int64_t half = x.size(3) / 2;
    const at::Tensor a = x.narrow(3, 0, half);
    const at::Tensor b = x.narrow(3, half, half);
    return at::cat({a * c - b * s, a * s + b * c}, 3);
  }
  const at::Tensor pairs = x.reshape({x.size(0), T, x.size(2), -1, 2});
  const at::Tensor a = pairs.select(4, 0);
  const at::Tensor b = pairs.select(4, 1);
  return at::stack({a * c - b * s, a * s + b * c}, 4).reshape(x.sizes());
}

at::Tensor LlamaModel::block(int l, const at::Tensor& x_in, int pos0, KvCache* cache, Backend backend) const {
  const Layer& L = layers_[static_cast<std::size_t>(l)];
  const bool unbatched = x_in.dim() == 2;
  const at::Tensor x = unbatched ? x_in.unsqueeze(0) : x_in;
  const std::int64_t B = x.size(0), T = x.size(1);
  const int hs = spec_.head_size();
  const at::Tensor h = rms_norm(x, L.attn_norm);
  const at::Tensor q = rope(L.q->forward(h, backend).reshape({B, T, spec_.n_heads, hs}), pos0);
  const at::Tensor k = rope(L.k->forward(h, backend).reshape({B, T, spec_.n_kv_heads, hs}), pos0);
  const at::Tensor v = L.v->forward(h, backend).reshape({B, T, spec_.n_kv_heads, hs});
  const at::Tensor ctx = causal_attention(q, k, v, pos0, cache, l);
  at::Tensor out = x + L.o->forward(ctx, backend);
  const at::Tensor h2 = rms_norm(out, L.ffn_norm);
  const at::Tensor ff = L.down->forward(at::silu(L.gate->forward(h2, backend)) * L.up->forward(h2, backend), backend);
  out = out + ff;
  return unbatched ? out.squeeze(0) : out;
}

at::Tensor LlamaModel::embed(const std::vector<int>& tokens) const {
  if (static_cast<int>(tokens.size()) > spec_.max_seq_len) {
    throw InvalidArgument("tokens", fmt::format("{} tokens exceed the model's {} positions", tokens.size(), spec_.max_seq_len));
  }
  const std::vector<std::int64_t> ids(tokens.begin(), tokens.end());
  return embed_.index_select(0, at::tensor(ids, at::kLong));
}

at::Tensor LlamaModel::head(const at::Tensor& x, Backend backend) const {
  return classifier_->forward(rms_norm(x, final_norm_), backend);
}

Decoder::KvCache LlamaModel::new_cache(int batch) const {
  return zero_cache(batch, spec_.n_layers, spec_.max_seq_len, spec_.n_kv_heads, spec_.head_size());
}

at::Tensor LlamaModel::decode_step(const std::vector<int>& tokens, int pos, KvCache& cache, Backend backend) const {
  check_decode_step(tokens, pos, cache, spec_.max_seq_len, spec_.vocab_size);
  const std::vector<std::int64_t> ids(tokens.begin(), tokens.end());
  at::Tensor x = embed_.index_select(0, at::tensor(ids, at::kLong)).unsqueeze(1);  // [B, 1, dim]
  for (int l = 0; l < spec_.n_layers; ++l) x = block(l, x, pos, &cache, backend);
  return head(x, backend).squeeze(1);
}

std::vector<QuantLinear*> LlamaModel::block_linears(int l) {
  Layer& L = layers_.at(static_cast<std::size_t>(l));
  return {L.q.get(), L.k.get(), L.v.get(), L.o.get(), L.gate.get(), L.up.get(), L.down.get()};
}

std::vector<std::vector<QuantLinear*>> LlamaModel::sequential_groups(int l) {
  Layer& L = layers_.at(static_cast<std::size_t>(l));
  return {{L.k.get(), L.v.get(), L.q.get()}, {L.o.get()}, {L.up.get(), L.gate.get()}, {L.down.get()}};
}

std::vector<std::pair<std::string, at::Tensor*>> LlamaModel::block_norm_params(int l) {
  Layer& L = layers_.at(static_cast<std::size_t>(l));
  return {{fmt::format("layers.{}.attention_norm", l), &L.attn_norm}, {fmt::format("layers.{}.ffn_norm", l), &L.ffn_norm}};
}

std::vector<std::pair<std::string, at::Tensor*>> LlamaModel::named_tensors() {
  std::vector<std::pair<std::string, at::Tensor*>> out{{"embed", &embed_}};
  for (int l = 0; l < num_blocks(); ++l) {
    for (const auto& p : block_norm_params(l)) out.push_back(p);
  }
  out.emplace_back("final_norm", &final_norm_);
  return out;
}

std::vector<int> generate(const LlamaModel& model, const std::vector<int>& prompt, int steps, Backend backend,
                          const std::function<int(std::vector<float>)>& sample) {
  std::vector<int> out = prompt;
  Decoder::KvCache cache = model.new_cache(1);
  int token = prompt.at(0);
  for (int pos = 0; pos < steps && pos < model.spec().max_seq_len; ++pos) {
    const at::Tensor logits = model.step(token, pos, cache, backend).contiguous();
    const bool in_prompt = pos + 1 < static_cast<int>(prompt.size());
    const int next = in_prompt ? prompt[static_cast<std::size_t>(pos) + 1]
                               : sample(std::vector<float>(logits.data_ptr<float>(),
                                                           logits.data_ptr<float>() + logits.numel()));
    if (next == 1) break;  // BOS ends a llama2.c story
    if (!in_prompt) out.push_back(next);
    token = next;
  }
  return out;
}

std::vector<int> generate_greedy(const LlamaModel& model, const std::vector<int>& prompt, int steps, Backend backend) {
  return generate(model, prompt, steps, backend, [](const std::vector<float>& logits) {
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  });
}

}  // namespace oacim::model
