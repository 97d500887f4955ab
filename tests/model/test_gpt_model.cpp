// OPT and GPT-2 decoders on 2-layer checkpoints the test writes with seeded weights, against a
// plain C++ re-derivation of the Hugging Face forward (loops, no torch): known weights in, the
// same logits out. Plus the shape and model_type errors of their loaders.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/rng.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/model_layout.hpp"
#include "oacim/model/hf_checkpoint.hpp"

namespace fs = std::filesystem;

namespace oacim::model {
namespace {

constexpr int D = 16, H = 4, F = 32, V = 40, P = 20, L = 2;
using Weights = std::map<std::string, std::pair<std::vector<std::int64_t>, std::vector<float>>>;

void put(Weights& w, Rng& rng, const std::string& name, std::vector<std::int64_t> shape, double scale, double mean = 0) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<float>(mean + scale * rng.normal());
  w[name] = {std::move(shape), std::move(v)};
}

std::string write(const std::string& name, const Weights& w, const nlohmann::json& cfg) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  SafetensorsWriter wr;
  for (const auto& [k, t] : w) wr.add(k, DType::F32, t.first, t.second);
  wr.write(dir + "/model.safetensors");
  std::ofstream(dir + "/config.json") << cfg.dump();
  return dir;
}

// ---- plain reference ----
using Vec = std::vector<double>;
Vec layer_norm(const Vec& x, const std::vector<float>& g, const std::vector<float>& b) {
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double v : x) var += (v - mean) * (v - mean);
  var /= static_cast<double>(x.size());
  Vec o(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) o[i] = (x[i] - mean) / std::sqrt(var + 1e-5) * g[i] + b[i];
  return o;
}
// y = W x + b with W [out, in] (linear) or [in, out] (conv1d).
Vec affine(const std::vector<float>& W, const std::vector<float>& b, const Vec& x, int out, bool conv1d) {
  const int in = static_cast<int>(x.size());
  Vec y(static_cast<std::size_t>(out));
  for (int o = 0; o < out; ++o) {
    double s = b[static_cast<std::size_t>(o)];
    for (int i = 0; i < in; ++i) s += (conv1d ? W[static_cast<std::size_t>(i) * out + o] : W[static_cast<std::size_t>(o) * in + i]) * x[static_cast<std::size_t>(i)];
    y[static_cast<std::size_t>(o)] = s;
  }
  return y;
}

struct Names {
  std::string emb, pos, ln1w, ln1b, ln2w, ln2b, lnfw, lnfb;
  int pos_offset;
  bool gpt2;
};

std::vector<Vec> reference(const Weights& w, const Names& n, const std::vector<int>& tokens) {
  auto get = [&](const std::string& k) -> const std::vector<float>& { return w.at(k).second; };
  const int T = static_cast<int>(tokens.size()), hs = D / H;
  std::vector<Vec> x(static_cast<std::size_t>(T), Vec(D));
  for (int t = 0; t < T; ++t) {
    for (int i = 0; i < D; ++i) {
      x[t][i] = get(n.emb)[static_cast<std::size_t>(tokens[t]) * D + i] + get(n.pos)[static_cast<std::size_t>(t + n.pos_offset) * D + i];
    }
  }
  for (int l = 0; l < L; ++l) {
    const std::string p = (n.gpt2 ? "h." : "model.decoder.layers.") + std::to_string(l) + ".";
    std::vector<Vec> q(T), k(T), v(T);
    for (int t = 0; t < T; ++t) {
      const Vec h = layer_norm(x[t], get(p + n.ln1w), get(p + n.ln1b));
      if (n.gpt2) {
        const Vec qkv = affine(get(p + "attn.c_attn.weight"), get(p + "attn.c_attn.bias"), h, 3 * D, true);
        q[t] = Vec(qkv.begin(), qkv.begin() + D);
        k[t] = Vec(qkv.begin() + D, qkv.begin() + 2 * D);
        v[t] = Vec(qkv.begin() + 2 * D, qkv.end());
      } else {
        q[t] = affine(get(p + "self_attn.q_proj.weight"), get(p + "self_attn.q_proj.bias"), h, D, false);
        k[t] = affine(get(p + "self_attn.k_proj.weight"), get(p + "self_attn.k_proj.bias"), h, D, false);
        v[t] = affine(get(p + "self_attn.v_proj.weight"), get(p + "self_attn.v_proj.bias"), h, D, false);
      }
    }
    for (int t = 0; t < T; ++t) {
      Vec ctx(D, 0.0);
      for (int hd = 0; hd < H; ++hd) {
        std::vector<double> s(static_cast<std::size_t>(t) + 1);
        double mx = -1e300, sum = 0;
        for (int u = 0; u <= t; ++u) {
          double d = 0;
          for (int i = 0; i < hs; ++i) d += q[t][hd * hs + i] * k[u][hd * hs + i];
          s[u] = d / std::sqrt(static_cast<double>(hs));
          mx = std::max(mx, s[u]);
        }
        for (auto& e : s) sum += (e = std::exp(e - mx));
        for (int u = 0; u <= t; ++u) {
          for (int i = 0; i < hs; ++i) ctx[hd * hs + i] += s[u] / sum * v[u][hd * hs + i];
        }
      }
      const Vec o = n.gpt2 ? affine(get(p + "attn.c_proj.weight"), get(p + "attn.c_proj.bias"), ctx, D, true)
                           : affine(get(p + "self_attn.out_proj.weight"), get(p + "self_attn.out_proj.bias"), ctx, D, false);
      for (int i = 0; i < D; ++i) x[t][i] += o[i];
    }
    for (int t = 0; t < T; ++t) {
      const Vec h = layer_norm(x[t], get(p + n.ln2w), get(p + n.ln2b));
      Vec a = n.gpt2 ? affine(get(p + "mlp.c_fc.weight"), get(p + "mlp.c_fc.bias"), h, F, true)
                     : affine(get(p + "fc1.weight"), get(p + "fc1.bias"), h, F, false);
      for (auto& e : a) {
        e = n.gpt2 ? 0.5 * e * (1 + std::tanh(std::sqrt(2 / M_PI) * (e + 0.044715 * e * e * e))) : std::max(0.0, e);
      }
      const Vec o = n.gpt2 ? affine(get(p + "mlp.c_proj.weight"), get(p + "mlp.c_proj.bias"), a, D, true)
                           : affine(get(p + "fc2.weight"), get(p + "fc2.bias"), a, D, false);
      for (int i = 0; i < D; ++i) x[t][i] += o[i];
    }
  }
  std::vector<Vec> logits;
  for (int t = 0; t < T; ++t) {
    const Vec h = layer_norm(x[t], get(n.lnfw), get(n.lnfb));
    logits.push_back(affine(get(n.emb), std::vector<float>(V, 0.0f), h, V, false));
  }
  return logits;
}

double max_diff(const at::Tensor& got, const std::vector<Vec>& want) {
  double m = 0;
  for (std::size_t t = 0; t < want.size(); ++t) {
    for (int v = 0; v < V; ++v) m = std::max(m, std::fabs(got[static_cast<std::int64_t>(t)][v].item<double>() - want[t][v]));
  }
  return m;
}

const std::vector<int> kTokens = {3, 17, 0, 39, 22, 8, 8};

Weights opt_weights() {
  Rng rng(11);
  Weights w;
  put(w, rng, "model.decoder.embed_tokens.weight", {V, D}, 0.5);
  put(w, rng, "model.decoder.embed_positions.weight", {P + 2, D}, 0.3);
  for (int l = 0; l < L; ++l) {
    const std::string p = "model.decoder.layers." + std::to_string(l) + ".";
    for (const char* n : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"}) {
      put(w, rng, p + n + ".weight", {D, D}, 0.3);
      put(w, rng, p + n + ".bias", {D}, 0.1);
    }
    put(w, rng, p + "fc1.weight", {F, D}, 0.3);
    put(w, rng, p + "fc1.bias", {F}, 0.1);
    put(w, rng, p + "fc2.weight", {D, F}, 0.3);
    put(w, rng, p + "fc2.bias", {D}, 0.1);
    for (const char* n : {"self_attn_layer_norm", "final_layer_norm"}) {
      put(w, rng, p + n + ".weight", {D}, 0.1, 1.0);
      put(w, rng, p + n + ".bias", {D}, 0.1);
    }
  }
  put(w, rng, "model.decoder.final_layer_norm.weight", {D}, 0.1, 1.0);
  put(w, rng, "model.decoder.final_layer_norm.bias", {D}, 0.1);
  return w;
}

const nlohmann::json kOptConfig = {{"model_type", "opt"}, {"hidden_size", D},   {"num_hidden_layers", L},
                                   {"num_attention_heads", H}, {"ffn_dim", F}, {"vocab_size", V},
                                   {"max_position_embeddings", P}, {"do_layer_norm_before", true},
                                   {"activation_function", "relu"}, {"word_embed_proj_dim", D}};

// The names of every block Linear the decoder built, in order.
std::vector<std::string> block_linear_names(Decoder& m) {
  std::vector<std::string> out;
  for (int l = 0; l < m.num_blocks(); ++l) {
    for (QuantLinear* lin : m.block_linears(l)) out.push_back(lin->name());
  }
  return out;
}

TEST(GptModel, OptMatchesPlainForward) {
  at::set_num_threads(1);
  const Weights w = opt_weights();
  const GptModel m = GptModel::from_hf(HfCheckpoint::open(write("opt2", w, kOptConfig)));
  const Names n{"model.decoder.embed_tokens.weight", "model.decoder.embed_positions.weight",
                "self_attn_layer_norm.weight", "self_attn_layer_norm.bias", "final_layer_norm.weight",
                "final_layer_norm.bias", "model.decoder.final_layer_norm.weight", "model.decoder.final_layer_norm.bias",
                2, false};
  EXPECT_LT(max_diff(m.forward(kTokens, Backend::Float), reference(w, n, kTokens)), 1e-4);
  EXPECT_EQ(model_linear_names(::testing::TempDir() + "/opt2"), block_linear_names(const_cast<GptModel&>(m)));
}

TEST(GptModel, Gpt2MatchesPlainForward) {
  at::set_num_threads(1);
  Rng rng(12);
  Weights w;
  put(w, rng, "wte.weight", {V, D}, 0.5);
  put(w, rng, "wpe.weight", {P, D}, 0.3);
  for (int l = 0; l < L; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    put(w, rng, p + "attn.c_attn.weight", {D, 3 * D}, 0.3);
    put(w, rng, p + "attn.c_attn.bias", {3 * D}, 0.1);
    put(w, rng, p + "attn.c_proj.weight", {D, D}, 0.3);
    put(w, rng, p + "attn.c_proj.bias", {D}, 0.1);
    put(w, rng, p + "mlp.c_fc.weight", {D, F}, 0.3);
    put(w, rng, p + "mlp.c_fc.bias", {F}, 0.1);
    put(w, rng, p + "mlp.c_proj.weight", {F, D}, 0.3);
    put(w, rng, p + "mlp.c_proj.bias", {D}, 0.1);
    for (const char* nm : {"ln_1", "ln_2"}) {
      put(w, rng, p + nm + ".weight", {D}, 0.1, 1.0);
      put(w, rng, p + nm + ".bias", {D}, 0.1);
    }
  }
  put(w, rng, "ln_f.weight", {D}, 0.1, 1.0);
  put(w, rng, "ln_f.bias", {D}, 0.1);
  const nlohmann::json cfg = {{"model_type", "gpt2"}, {"n_embd", D}, {"n_layer", L}, {"n_head", H},
                              {"n_inner", F},         {"vocab_size", V}, {"n_positions", P}};
  const GptModel m = GptModel::from_hf(HfCheckpoint::open(write("gpt2", w, cfg)));
  const Names n{"wte.weight", "wpe.weight", "ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias",
                "ln_f.weight", "ln_f.bias", 0, true};
  EXPECT_LT(max_diff(m.forward(kTokens, Backend::Float), reference(w, n, kTokens)), 1e-4);
  EXPECT_EQ(m.spec().family, GptSpec::Family::Gpt2);
  EXPECT_EQ(const_cast<GptModel&>(m).linears().size(), 2u * 6 + 1);
  EXPECT_EQ(model_linear_names(::testing::TempDir() + "/gpt2"), block_linear_names(const_cast<GptModel&>(m)));
  EXPECT_THROW(m.forward(std::vector<int>(P + 1, 1), Backend::Float), InvalidArgument);
}

TEST(GptModel, LoaderErrors) {
  Weights w = opt_weights();
  w["model.decoder.layers.1.fc1.bias"].first = {F + 1};
  w["model.decoder.layers.1.fc1.bias"].second.resize(F + 1);
  try {
    GptModel::from_hf(HfCheckpoint::open(write("opt_bad", w, kOptConfig)));
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("model.decoder.layers.1.fc1.bias"), std::string::npos) << e.what();
  }
  nlohmann::json cfg = kOptConfig;
  cfg["model_type"] = "bloom";
  EXPECT_THROW(GptModel::from_hf(HfCheckpoint::open(write("bloom", opt_weights(), cfg))), FormatError);
  cfg = kOptConfig;
  cfg["word_embed_proj_dim"] = 8;
  EXPECT_THROW(GptModel::from_hf(HfCheckpoint::open(write("opt350", opt_weights(), cfg))), FormatError);
}

}  // namespace
}  // namespace oacim::model
