#include "oacim/model/gpt_model.hpp"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/model_layout.hpp"

namespace oacim::model {

GptModel GptModel::from_hf(const HfCheckpoint& ck) {
  const std::string type = ck.model_type();
  GptModel m;
  GptSpec& s = m.spec_;
  const std::string cfg = ck.dir() + "/config.json";
  if (type == "opt") {
    s.family = GptSpec::Family::Opt;
    s.dim = ck.config_int("hidden_size");
    s.n_layers = ck.config_blocks("num_hidden_layers");
    s.n_heads = ck.config_int("num_attention_heads");
    s.ffn_dim = ck.config_int("ffn_dim");
    s.vocab_size = ck.config_int("vocab_size");
    s.max_positions = ck.config_int("max_position_embeddings");
    s.position_offset = 2;
    if (ck.config_int("word_embed_proj_dim", s.dim) != s.dim) {
      throw FormatError(cfg, "word_embed_proj_dim differs from hidden_size (OPT-350m's project_in/out) is not supported");
    }
    if (!ck.config_bool("do_layer_norm_before", true)) throw FormatError(cfg, "post-LayerNorm OPT is not supported");
    if (ck.config().contains("activation_function") && ck.config()["activation_function"] != "relu") {
      throw FormatError(cfg, "activation_function must be relu for OPT");
    }
  } else if (type == "gpt2") {
    s.family = GptSpec::Family::Gpt2;
    s.dim = ck.config_int("n_embd");
    s.n_layers = ck.config_blocks("n_layer");
    s.n_heads = ck.config_int("n_head");
    s.ffn_dim = ck.config_int("n_inner", 4 * s.dim);
    s.vocab_size = ck.config_int("vocab_size");
    s.max_positions = ck.config_int("n_positions");
    s.ln_eps = static_cast<float>(ck.config_number("layer_norm_epsilon", 1e-5));
  } else {
    throw FormatError(cfg, fmt::format("model_type '{}' is not OPT or GPT-2", type));
  }
  if (s.dim % s.n_heads != 0) {
    throw FormatError(cfg, fmt::format("{} channels do not split into {} heads", s.dim, s.n_heads));
  }
  const std::int64_t D = s.dim, F = s.ffn_dim;
  // Linear weights are made from the mapped checkpoint when first used (hf_checkpoint.hpp).
  const auto shared = std::make_shared<const HfCheckpoint>(ck);
  if (s.family == GptSpec::Family::Opt) {
    const std::string p = "model.decoder.";
    m.embed_ = ck.tensor(p + "embed_tokens.weight", {s.vocab_size, D});
    m.positions_ = ck.tensor(p + "embed_positions.weight", {s.max_positions + 2, D});
    for (int l = 0; l < s.n_layers; ++l) {
      const std::string q = p + "layers." + std::to_string(l) + ".";
      auto lin = [&](LinearRole r, std::int64_t out, std::int64_t in) {
        const std::string n = linear_name(LinearNaming::Opt, l, r);
        return std::make_unique<QuantLinear>(n, tensor_source(shared, n + ".weight", {out, in}), static_cast<int>(out),
                                             static_cast<int>(in), ck.tensor(n + ".bias", {out}));
      };
      Layer L;
      L.ln1_w = ck.tensor(q + "self_attn_layer_norm.weight", {D});
      L.ln1_b = ck.tensor(q + "self_attn_layer_norm.bias", {D});
      L.ln2_w = ck.tensor(q + "final_layer_norm.weight", {D});
      L.ln2_b = ck.tensor(q + "final_layer_norm.bias", {D});
      L.q = lin(LinearRole::Q, D, D);
      L.k = lin(LinearRole::K, D, D);
      L.v = lin(LinearRole::V, D, D);
      L.o = lin(LinearRole::O, D, D);
      L.fc1 = lin(LinearRole::Fc1, F, D);
      L.fc2 = lin(LinearRole::Fc2, D, F);
      m.layers_.push_back(std::move(L));
    }
    m.lnf_w_ = ck.tensor(p + "final_layer_norm.weight", {D});
    m.lnf_b_ = ck.tensor(p + "final_layer_norm.bias", {D});
  } else {
    // GPT2LMHeadModel saves "transformer.*"; GPT2Model saves the same names without the prefix.
    const std::string p = ck.contains("transformer.wte.weight") ? "transformer." : "";
    m.embed_ = ck.tensor(p + "wte.weight", {s.vocab_size, D});
    m.positions_ = ck.tensor(p + "wpe.weight", {s.max_positions, D});
    for (int l = 0; l < s.n_layers; ++l) {
      const std::string q = p + "h." + std::to_string(l) + ".";
      // Conv1D stores [in, out]: QuantLinear wants [out, in], rows `row0`.. of the transpose.
      auto conv = [&](LinearRole r, const std::string& n, std::int64_t in, std::int64_t out, std::int64_t row0, std::int64_t rows) {
        const auto whole = tensor_source(shared, q + n + ".weight", {in, out});
        const auto source = [whole, row0, rows] { return whole().t().narrow(0, row0, rows).contiguous(); };
        const at::Tensor bias = ck.tensor(q + n + ".bias", {out}).narrow(0, row0, rows).contiguous();
        return std::make_unique<QuantLinear>(linear_name(LinearNaming::Gpt2, l, r, p), source, static_cast<int>(rows),
                                             static_cast<int>(in), bias);
      };
      Layer L;
      L.ln1_w = ck.tensor(q + "ln_1.weight", {D});
      L.ln1_b = ck.tensor(q + "ln_1.bias", {D});
      L.ln2_w = ck.tensor(q + "ln_2.weight", {D});
      L.ln2_b = ck.tensor(q + "ln_2.bias", {D});
      L.q = conv(LinearRole::Q, "attn.c_attn", D, 3 * D, 0, D);
      L.k = conv(LinearRole::K, "attn.c_attn", D, 3 * D, D, D);
      L.v = conv(LinearRole::V, "attn.c_attn", D, 3 * D, 2 * D, D);
      L.o = conv(LinearRole::O, "attn.c_proj", D, D, 0, D);
      L.fc1 = conv(LinearRole::Fc1, "mlp.c_fc", D, F, 0, F);
      L.fc2 = conv(LinearRole::Fc2, "mlp.c_proj", F, D, 0, D);
      m.layers_.push_back(std::move(L));
    }
    m.lnf_w_ = ck.tensor(p + "ln_f.weight", {D});
    m.lnf_b_ = ck.tensor(p + "ln_f.bias", {D});
  }
  // Both families tie the classifier to the token embedding.
  const std::string embed_name = s.family == GptSpec::Family::Opt ? "model.decoder.embed_tokens.weight"
                                 : ck.contains("transformer.wte.weight") ? "transformer.wte.weight"
                                                                          : "wte.weight";
  m.classifier_ = std::make_unique<QuantLinear>(
      "lm_head", tensor_source(shared, ck.contains("lm_head.weight") ? "lm_head.weight" : embed_name, {s.vocab_size, D}),
      s.vocab_size, s.dim);
  return m;
}

GptModel GptModel::random(const GptSpec& spec, std::uint64_t seed) {
  at::manual_seed(static_cast<std::int64_t>(seed));
  GptModel m;
  m.spec_ = spec;
  const std::int64_t D = spec.dim, F = spec.ffn_dim;
  auto lin = [](const std::string& name, std::int64_t out, std::int64_t in) {
    return std::make_unique<QuantLinear>(name, at::randn({out, in}) * 0.02, at::zeros({out}));
  };
  m.embed_ = at::randn({spec.vocab_size, D}) * 0.02;
  m.positions_ = at::randn({spec.max_positions + spec.position_offset, D}) * 0.02;
  for (int l = 0; l < spec.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    Layer L;
    L.ln1_w = at::ones({D});
    L.ln1_b = at::zeros({D});
    L.ln2_w = at::ones({D});
    L.ln2_b = at::zeros({D});
    L.q = lin(p + "q", D, D);
    L.k = lin(p + "k", D, D);
    L.v = lin(p + "v", D, D);
    L.o = lin(p + "o", D, D);
    L.fc1 = lin(p + "fc1", F, D);
    L.fc2 = lin(p + "fc2", D, F);
    m.layers_.push_back(std::move(L));
  }
  m.lnf_w_ = at::ones({D});
  m.lnf_b_ = at::zeros({D});
  m.classifier_ = std::make_unique<QuantLinear>("lm_head", m.embed_.clone());
  return m;
}

at::Tensor GptModel::embed(const std::vector<int>& tokens) const {
  const auto T = static_cast<std::int64_t>(tokens.size());
  if (T > spec_.max_positions) {
    throw InvalidArgument("tokens", fmt::format("{} tokens exceed the model's {} positions", T, spec_.max_positions));
  }
  const std::vector<std::int64_t> ids(tokens.begin(), tokens.end());
  return embed_.index_select(0, at::tensor(ids, at::kLong)) + positions_.narrow(0, spec_.position_offset, T);
}

at::Tensor GptModel::block_forward(int l, const at::Tensor& x, Backend backend) const {
  return block(l, x, 0, nullptr, backend);
}

at::Tensor GptModel::block(int l, const at::Tensor& x_in, int pos0, KvCache* cache, Backend backend) const {
  const Layer& L = layers_.at(static_cast<std::size_t>(l));
  const bool unbatched = x_in.dim() == 2;
  const at::Tensor x0 = unbatched ? x_in.unsqueeze(0) : x_in;
  const std::int64_t B = x0.size(0), T = x0.size(1);
  const std::int64_t hs = spec_.dim / spec_.n_heads;
  const at::Tensor h = at::layer_norm(x0, {spec_.dim}, L.ln1_w, L.ln1_b, spec_.ln_eps);
  // [B, T, heads, hs]
  const at::Tensor q = L.q->forward(h, backend).reshape({B, T, spec_.n_heads, hs});
  const at::Tensor k = L.k->forward(h, backend).reshape({B, T, spec_.n_heads, hs});
  const at::Tensor v = L.v->forward(h, backend).reshape({B, T, spec_.n_heads, hs});
  const at::Tensor ctx = causal_attention(q, k, v, pos0, cache, l);
  const at::Tensor x = x0 + L.o->forward(ctx, backend);
  const at::Tensor h2 = at::layer_norm(x, {spec_.dim}, L.ln2_w, L.ln2_b, spec_.ln_eps);
  const at::Tensor a = L.fc1->forward(h2, backend);
  const at::Tensor act = spec_.family == GptSpec::Family::Opt ? at::relu(a) : at::gelu(a, "tanh");
  const at::Tensor out = x + L.fc2->forward(act, backend);
  return unbatched ? out.squeeze(0) : out;
}

Decoder::KvCache GptModel::new_cache(int batch) const {
  return zero_cache(batch, num_blocks(), spec_.max_positions, spec_.n_heads, spec_.dim / spec_.n_heads);
}

at::Tensor GptModel::decode_step(const std::vector<int>& tokens, int pos, KvCache& cache, Backend backend) const {
  check_decode_step(tokens, pos, cache, spec_.max_positions, spec_.vocab_size);
  const std::vector<std::int64_t> ids(tokens.begin(), tokens.end());
  at::Tensor x = (embed_.index_select(0, at::tensor(ids, at::kLong)) + positions_[spec_.position_offset + pos]).unsqueeze(1);
  for (int l = 0; l < num_blocks(); ++l) x = block(l, x, pos, &cache, backend);
  return head(x, backend).squeeze(1);
}

at::Tensor GptModel::head(const at::Tensor& x, Backend backend) const {
  return classifier_->forward(at::layer_norm(x, {spec_.dim}, lnf_w_, lnf_b_, spec_.ln_eps), backend);
}

std::vector<QuantLinear*> GptModel::block_linears(int l) {
  Layer& L = layers_.at(static_cast<std::size_t>(l));
  return {L.q.get(), L.k.get(), L.v.get(), L.o.get(), L.fc1.get(), L.fc2.get()};
}

std::vector<std::vector<QuantLinear*>> GptModel::sequential_groups(int l) {
  std::vector<std::vector<QuantLinear*>> groups;
  for (QuantLinear* lin : block_linears(l)) groups.push_back({lin});
  return groups;
}

std::vector<std::pair<std::string, at::Tensor*>> GptModel::block_norm_params(int l) {
  Layer& L = layers_.at(static_cast<std::size_t>(l));
  return {{fmt::format("layers.{}.ln1.weight", l), &L.ln1_w},
          {fmt::format("layers.{}.ln1.bias", l), &L.ln1_b},
          {fmt::format("layers.{}.ln2.weight", l), &L.ln2_w},
          {fmt::format("layers.{}.ln2.bias", l), &L.ln2_b}};
}

std::vector<std::pair<std::string, at::Tensor*>> GptModel::named_tensors() {
  std::vector<std::pair<std::string, at::Tensor*>> out{{"embed", &embed_}, {"positions", &positions_}};
  for (int l = 0; l < num_blocks(); ++l) {
    for (const auto& p : block_norm_params(l)) out.push_back(p);
  }
  out.emplace_back("final_norm.weight", &lnf_w_);
  out.emplace_back("final_norm.bias", &lnf_b_);
  return out;
}

}  // namespace oacim::model
