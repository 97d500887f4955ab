// Hugging Face `llama` directories: stories260K converted to the HF layout (q/k rows permuted for
// rotate-half rotary, as transformers' conversion script does) must give the llama2.c model's
// logits; shards, BF16 tensors and every class of broken directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "oacim/core/bf16.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/rtn_packer.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/llama_model.hpp"
#include "oacim/model/model_layout.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/random_checkpoint.hpp"

namespace fs = std::filesystem;

namespace oacim::model {
namespace {

const std::string kBin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";

at::Tensor slice(const std::vector<float>& v, std::size_t offset, std::vector<std::int64_t> shape) {
  return at::from_blob(const_cast<float*>(v.data() + offset), shape, at::kFloat).clone();
}

// transformers' convert_llama_weights_to_hf.permute: interleaved pairs -> rotate-half halves.
at::Tensor permute_for_hf(const at::Tensor& w, std::int64_t heads) {
  const std::int64_t d1 = w.size(0), d2 = w.size(1);
  return w.view({heads, d1 / heads / 2, 2, d2}).transpose(1, 2).reshape({d1, d2}).contiguous();
}

struct HfOptions {
  bool bf16 = false;
  bool sharded = false;
  std::string model_type = "llama";
  std::vector<std::string> drop;                  // tensors left out
  std::map<std::string, at::Tensor> replace;      // tensors overridden
  std::int64_t max_positions = 0;                 // config's max_position_embeddings (0: the model's)
};

std::string write_hf(const std::string& name, const HfOptions& o) {
  const Llama2cWeights w = load_llama2c(kBin);
  const Llama2cConfig& c = w.config;
  const std::string dir = ::testing::TempDir() + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::map<std::string, at::Tensor> t;
  const std::int64_t D = c.dim, H = c.hidden_dim, KV = c.kv_dim();
  t["model.embed_tokens.weight"] = slice(w.tok_embeddings, 0, {c.vocab_size, D});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto L = static_cast<std::size_t>(l);
    t[p + "input_layernorm.weight"] = slice(w.rms_att, L * D, {D});
    t[p + "post_attention_layernorm.weight"] = slice(w.rms_ffn, L * D, {D});
    t[p + "self_attn.q_proj.weight"] = permute_for_hf(slice(w.wq, L * D * D, {D, D}), c.n_heads);
    t[p + "self_attn.k_proj.weight"] = permute_for_hf(slice(w.wk, L * KV * D, {KV, D}), c.n_kv_heads);
    t[p + "self_attn.v_proj.weight"] = slice(w.wv, L * KV * D, {KV, D});
    t[p + "self_attn.o_proj.weight"] = slice(w.wo, L * D * D, {D, D});
    t[p + "mlp.gate_proj.weight"] = slice(w.w1, L * H * D, {H, D});
    t[p + "mlp.down_proj.weight"] = slice(w.w2, L * D * H, {D, H});
    t[p + "mlp.up_proj.weight"] = slice(w.w3, L * H * D, {H, D});
  }
  t["model.norm.weight"] = slice(w.rms_final, 0, {D});
  for (const auto& d : o.drop) t.erase(d);
  for (const auto& [k, v] : o.replace) t[k] = v;
  SafetensorsWriter a, b;
  nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
  int i = 0;
  for (const auto& [k, v] : t) {
    SafetensorsWriter& wr = (o.sharded && i++ % 2) ? b : a;
    const std::vector<std::int64_t> shape(v.sizes().begin(), v.sizes().end());
    if (o.bf16) {
      std::vector<std::uint16_t> bits(static_cast<std::size_t>(v.numel()));
      const float* src = v.data_ptr<float>();
      for (std::size_t j = 0; j < bits.size(); ++j) bits[j] = Bf16::from_float(src[j]).bits();
      wr.add(k, DType::BF16, shape, bits);
    } else {
      wr.add(k, DType::F32, shape, v.data_ptr<float>(), static_cast<std::size_t>(v.numel()) * 4);
    }
    index["weight_map"][k] = (o.sharded && (i % 2 == 0)) ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
  }
  if (o.sharded) {
    a.write(dir + "/model-00001-of-00002.safetensors");
    b.write(dir + "/model-00002-of-00002.safetensors");
    std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
  } else {
    a.write(dir + "/model.safetensors");
  }
  const nlohmann::json cfg = {{"model_type", o.model_type},        {"hidden_size", c.dim},
                              {"intermediate_size", c.hidden_dim},  {"num_hidden_layers", c.n_layers},
                              {"num_attention_heads", c.n_heads},   {"num_key_value_heads", c.n_kv_heads},
                              {"vocab_size", c.vocab_size},         {"max_position_embeddings", o.max_positions ? o.max_positions : c.seq_len},
                              {"rms_norm_eps", 1e-5},               {"tie_word_embeddings", true}};
  std::ofstream(dir + "/config.json") << cfg.dump(1);
  return dir;
}

const std::vector<int> kIds = {1, 403, 407, 261, 378, 268, 271, 394, 272, 349, 310, 400, 283, 325, 263};

TEST(HfCheckpoint, ConvertedStories260KGivesTheLlama2cLogits) {
  at::set_num_threads(1);
  const LlamaModel ref = LlamaModel::from_llama2c(load_llama2c(kBin));
  const LlamaModel hf = LlamaModel::from_hf(HfCheckpoint::open(write_hf("hf_f32", {})));
  EXPECT_FALSE(hf.spec().rope_interleaved);
  const at::Tensor a = ref.forward(kIds, Backend::Float);
  const at::Tensor b = hf.forward(kIds, Backend::Float);
  EXPECT_LT((a - b).abs().max().item<float>(), 1e-4f);
  // Incremental decoding takes the same rotary path.
  Decoder::KvCache cache = hf.new_cache(1);
  at::Tensor last;
  for (std::size_t pos = 0; pos < kIds.size(); ++pos) last = hf.step(kIds[pos], static_cast<int>(pos), cache, Backend::Float);
  EXPECT_LT((last - a[static_cast<std::int64_t>(kIds.size()) - 1]).abs().max().item<float>(), 1e-4f);
}

TEST(HfCheckpoint, ShardsAndBf16) {
  at::set_num_threads(1);
  const at::Tensor single = LlamaModel::from_hf(HfCheckpoint::open(write_hf("hf_single", {}))).forward(kIds, Backend::Float);
  HfOptions sharded;
  sharded.sharded = true;
  const at::Tensor s = LlamaModel::from_hf(HfCheckpoint::open(write_hf("hf_sharded", sharded))).forward(kIds, Backend::Float);
  EXPECT_TRUE(at::equal(single, s));
  HfOptions bf;
  bf.bf16 = true;
  const at::Tensor b = LlamaModel::from_hf(HfCheckpoint::open(write_hf("hf_bf16", bf))).forward(kIds, Backend::Float);
  const float diff = (single - b).abs().max().item<float>();
  EXPECT_GT(diff, 0.0f);  // the weights really were rounded
  EXPECT_LT(diff, 1.0f);
}

void expect_format_error(const std::function<void()>& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "accepted";
  } catch (const FormatError& e) {
    for (const auto& s : fragments) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
  }
}

TEST(HfCheckpoint, BrokenDirectoriesNameFileAndTensor) {
  HfOptions opt;
  opt.model_type = "opt";
  const std::string d1 = write_hf("hf_opt", opt);
  expect_format_error([&] { LlamaModel::from_hf(HfCheckpoint::open(d1)); }, {"config.json", "model_type 'opt'"});
  HfOptions missing;
  missing.drop = {"model.layers.3.mlp.up_proj.weight"};
  const std::string d2 = write_hf("hf_missing", missing);
  expect_format_error([&] { LlamaModel::from_hf(HfCheckpoint::open(d2)); }, {"model.layers.3.mlp.up_proj.weight", "missing"});
  HfOptions shape;
  shape.replace = {{"model.layers.0.self_attn.k_proj.weight", at::zeros({64, 64})}};
  const std::string d3 = write_hf("hf_shape", shape);
  expect_format_error([&] { LlamaModel::from_hf(HfCheckpoint::open(d3)); },
                      {"model.safetensors", "k_proj", "[64, 64]", "expected [32, 64]"});
  const std::string d4 = write_hf("hf_noweights", {});
  fs::remove(d4 + "/model.safetensors");
  expect_format_error([&] { HfCheckpoint::open(d4); }, {"no model.safetensors"});
  const std::string d5 = write_hf("hf_badjson", {});
  std::ofstream(d5 + "/config.json") << "{\"model_type\": \"llama\", \"hidden_size\": ";
  expect_format_error([&] { HfCheckpoint::open(d5); }, {"config.json", "malformed JSON"});
  const std::string d6 = write_hf("hf_badkey", {});
  std::ofstream(d6 + "/config.json") << R"({"model_type": "llama", "hidden_size": "64"})";
  expect_format_error([&] { LlamaModel::from_hf(HfCheckpoint::open(d6)); }, {"hidden_size", "not an integer"});
  HfOptions sh;
  sh.sharded = true;
  const std::string d7 = write_hf("hf_badindex", sh);
  nlohmann::json idx = nlohmann::json::parse(std::ifstream(d7 + "/model.safetensors.index.json"));
  idx["weight_map"]["model.norm.weight"] = idx["weight_map"]["model.norm.weight"] == "model-00001-of-00002.safetensors"
                                               ? "model-00002-of-00002.safetensors"
                                               : "model-00001-of-00002.safetensors";
  std::ofstream(d7 + "/model.safetensors.index.json") << idx.dump();
  expect_format_error([&] { HfCheckpoint::open(d7); }, {"model.norm.weight", "index lists it"});
  expect_format_error([&] { HfCheckpoint::open("/nonexistent/dir"); }, {"not a directory"});
}

TEST(HfCheckpoint, NonFiniteWeightsAreRefusedByTensorAndIndex) {
  HfOptions o;
  at::Tensor norm = at::ones({64});
  norm[5] = std::numeric_limits<float>::quiet_NaN();
  o.replace["model.layers.2.post_attention_layernorm.weight"] = norm;
  const std::string dir = write_hf("hf_nan", o);
  try {
    LlamaModel::from_hf(HfCheckpoint::open(dir));
    ADD_FAILURE() << "a NaN norm weight was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'model.layers.2.post_attention_layernorm.weight' holds NaN at index 5"),
              std::string::npos)
        << e.what();
  }
}

// Linear weights are made from the mapped file when first used: loading holds no fp32 copy of
// them, a float pass makes each once, release_float_copies() frees them and the next pass makes
// the same values again. A NaN in a Linear is refused when its weight is made, by tensor and index.
TEST(HfCheckpoint, LinearWeightsAreMadeOnDemandAndReleased) {
  const std::string dir = write_hf("hf_lazy", HfOptions{});
  LlamaModel m = LlamaModel::from_hf(HfCheckpoint::open(dir));
  const auto held = [&] {
    std::size_t n = 0;
    for (QuantLinear* lin : m.linears()) n += lin->float_bytes_held();
    return n;
  };
  EXPECT_EQ(held(), 0u) << "loading made fp32 weights";
  const at::Tensor first = m.forward(kIds, Backend::Float);
  std::size_t all = 0;
  for (QuantLinear* lin : m.linears()) all += static_cast<std::size_t>(lin->out_features()) * lin->in_features() * sizeof(float);
  EXPECT_EQ(held(), all);
  for (QuantLinear* lin : m.linears()) lin->release_float_copies();
  EXPECT_EQ(held(), 0u);
  EXPECT_TRUE(at::equal(m.forward(kIds, Backend::Float), first));

  // Fakequant's dequantized matrix is made when first used and released the same way.
  QuantLinear& down = *m.block_linears(0).back();
  const at::Tensor& w = down.weight();
  const std::vector<float> wv(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  down.set_packed(std::make_shared<const PackedCimWeights>(pack_rtn(wv, down.out_features(), down.in_features(), RtnPackOptions{})),
                  nullptr);
  const std::size_t one = static_cast<std::size_t>(down.out_features()) * down.in_features() * sizeof(float);
  EXPECT_EQ(down.float_bytes_held(), one);
  const at::Tensor x = at::randn({3, down.in_features()});
  const at::Tensor y = down.forward(x, Backend::FakeQuant);
  EXPECT_EQ(down.float_bytes_held(), 2 * one);
  down.release_float_copies();
  EXPECT_EQ(down.float_bytes_held(), 0u);
  EXPECT_TRUE(at::equal(down.forward(x, Backend::FakeQuant), y));
  EXPECT_EQ(down.float_bytes_held(), one);

  HfOptions o;
  at::Tensor up = slice(load_llama2c(kBin).w3, 0, {172, 64});
  up[3][7] = std::numeric_limits<float>::infinity();
  o.replace["model.layers.1.mlp.up_proj.weight"] = up;
  LlamaModel bad = LlamaModel::from_hf(HfCheckpoint::open(write_hf("hf_lazy_inf", o)));
  try {
    bad.forward(kIds, Backend::Float);
    ADD_FAILURE() << "an Inf Linear weight was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'model.layers.1.mlp.up_proj.weight' holds +inf at index 199 (row 3, column 7)"),
              std::string::npos)
        << e.what();
  }
}

TEST(HfCheckpoint, RotaryTablesCoverOnlyThePositionsUsed) {
  // 2^27 positions allowed by the config: building every rotary row up front took minutes and 4 GB.
  at::set_num_threads(1);
  HfOptions o;
  o.max_positions = std::int64_t{1} << 27;
  const LlamaModel m = LlamaModel::from_hf(HfCheckpoint::open(write_hf("hf_long", o)));
  EXPECT_EQ(m.max_positions(), 1 << 27);
  const LlamaModel ref = LlamaModel::from_hf(HfCheckpoint::open(write_hf("hf_short", {})));
  EXPECT_TRUE(at::equal(m.forward(kIds, Backend::Float), ref.forward(kIds, Backend::Float)));
}

TEST(HfCheckpoint, LayoutListsTheLinearsTheDecoderBuilds) {
  const std::string dir = write_hf("hf_layout", {});
  LlamaModel m = LlamaModel::from_hf(HfCheckpoint::open(dir));
  std::vector<std::string> built;
  for (int l = 0; l < m.num_blocks(); ++l) {
    for (QuantLinear* lin : m.block_linears(l)) built.push_back(lin->name());
  }
  EXPECT_EQ(model_linear_names(dir), built);
  LlamaModel c = LlamaModel::from_llama2c(load_llama2c(kBin));
  built.clear();
  for (int l = 0; l < c.num_blocks(); ++l) {
    for (QuantLinear* lin : c.block_linears(l)) built.push_back(lin->name());
  }
  EXPECT_EQ(model_linear_names(kBin), built);
}

// `oacim random-model` directories load as the models they claim to be, with the tokenizer files
// they were given (LLaMA-2's SentencePiece model; GPT-2's BPE files under their HF names).
TEST(HfCheckpoint, RandomModelDirectoriesLoadWithTheirTokenizers) {
  const std::string tok = std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/";
  for (const std::string family : {"llama", "opt"}) {
    RandomCheckpointOptions o;
    o.family = family;
    o.hidden = 64;
    o.intermediate = 128;
    o.layers = 2;
    o.heads = 4;
    o.kv_heads = family == "llama" ? 2 : 0;
    o.vocab = family == "llama" ? 32000 : 50272;
    o.positions = 128;
    o.tokenizer_files = family == "llama" ? std::vector<std::string>{tok + "llama2_sp32k.tokenizer.model"}
                                          : std::vector<std::string>{tok + "gpt2.encoder.json", tok + "gpt2.vocab.bpe"};
    o.out_dir = ::testing::TempDir() + "/oacim_random_" + family;
    fs::remove_all(o.out_dir);
    write_random_checkpoint(o);
    LoadedModel lm = load_model(o.out_dir);
    EXPECT_EQ(lm.decoder->family(), family);
    EXPECT_EQ(lm.decoder->vocab_size(), o.vocab);
    const std::vector<int> ids = lm.tokenize("Hello world");
    ASSERT_GE(ids.size(), 2u);
    EXPECT_TRUE(at::isfinite(lm.decoder->forward(ids, Backend::Float)).all().item<bool>()) << family;
    fs::remove_all(o.out_dir);
  }
}

}  // namespace
}  // namespace oacim::model
