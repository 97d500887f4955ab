// LLaMA models from GGUF files: the bundled stories260K written as GGUF (weights, hyper-parameters
// and its SentencePiece vocabulary in the metadata) loads into the same decoder, bit for bit, and
// tokenizes alike; its Linears in Q4_0 load as ggml dequantizes them; bad files are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <ATen/ATen.h>

#include "oacim/core/error.hpp"
#include "oacim/core/gguf.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"
#include "oacim/model/model_layout.hpp"
#include "oacim/model/model_loader.hpp"

namespace oacim::model {
namespace {

namespace fs = std::filesystem;
const std::string kBin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";
const std::string kTok = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/tok512.bin";
const std::string kText = std::string(OACIM_SOURCE_DIR) + "/tests/data/tinystories-valid-slice.txt";

// stories260K as llama.cpp's converter would write it: the block Linears in `linear_type`.
std::string write_stories_gguf(GgmlType linear_type, const std::string& name) {
  const Llama2cWeights w = load_llama2c(kBin);
  const Llama2cConfig& c = w.config;
  const Llama2cTokenizer tok = Llama2cTokenizer::load(kTok, c.vocab_size);
  GgufWriter g;
  g.set_string("general.architecture", "llama");
  g.set_u32("llama.embedding_length", static_cast<std::uint32_t>(c.dim));
  g.set_u32("llama.feed_forward_length", static_cast<std::uint32_t>(c.hidden_dim));
  g.set_u32("llama.block_count", static_cast<std::uint32_t>(c.n_layers));
  g.set_u32("llama.attention.head_count", static_cast<std::uint32_t>(c.n_heads));
  g.set_u32("llama.attention.head_count_kv", static_cast<std::uint32_t>(c.n_kv_heads));
  g.set_u32("llama.context_length", static_cast<std::uint32_t>(c.seq_len));
  g.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.set_string("tokenizer.ggml.model", "llama");
  std::vector<std::string> pieces;
  std::vector<float> scores;
  for (int id = 0; id < tok.vocab_size(); ++id) {
    std::string p = id == 1 ? "<s>" : id == 2 ? "</s>" : tok.piece(id);
    std::string sp;
    for (const char ch : p) sp += ch == ' ' ? std::string("\xE2\x96\x81") : std::string(1, ch);
    pieces.push_back(sp);
    scores.push_back(tok.score(id));
  }
  g.set_strings("tokenizer.ggml.tokens", pieces);
  g.set_f32s("tokenizer.ggml.scores", scores);
  g.set_u32("tokenizer.ggml.bos_token_id", 1);
  g.set_u32("tokenizer.ggml.eos_token_id", 2);
  const std::int64_t D = c.dim, H = c.hidden_dim, KV = c.kv_dim(), V = c.vocab_size;
  const auto slice = [](const std::vector<float>& v, std::int64_t layer, std::int64_t n) {
    return std::vector<float>(v.begin() + layer * n, v.begin() + (layer + 1) * n);
  };
  g.add_tensor("token_embd.weight", {D, V}, w.tok_embeddings, GgmlType::F32);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    g.add_tensor(b + "attn_norm.weight", {D}, slice(w.rms_att, l, D), GgmlType::F32);
    g.add_tensor(b + "attn_q.weight", {D, D}, slice(w.wq, l, D * D), linear_type);
    g.add_tensor(b + "attn_k.weight", {D, KV}, slice(w.wk, l, KV * D), linear_type);
    g.add_tensor(b + "attn_v.weight", {D, KV}, slice(w.wv, l, KV * D), linear_type);
    g.add_tensor(b + "attn_output.weight", {D, D}, slice(w.wo, l, D * D), linear_type);
    g.add_tensor(b + "ffn_norm.weight", {D}, slice(w.rms_ffn, l, D), GgmlType::F32);
    // stories260K's FFN is 172 wide: not whole blocks of 32, so its FFN stays F32 in any case.
    const GgmlType ffn = H % 32 == 0 ? linear_type : GgmlType::F32;
    g.add_tensor(b + "ffn_gate.weight", {D, H}, slice(w.w1, l, H * D), ffn);
    g.add_tensor(b + "ffn_down.weight", {H, D}, slice(w.w2, l, D * H), linear_type == GgmlType::Q4_0 ? GgmlType::F32 : ffn);
    g.add_tensor(b + "ffn_up.weight", {D, H}, slice(w.w3, l, H * D), ffn);
  }
  g.add_tensor("output_norm.weight", {D}, w.rms_final, GgmlType::F32);
  if (!c.shared_classifier) g.add_tensor("output.weight", {D, V}, w.wcls, GgmlType::F32);
  const std::string path = (fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".gguf")).string();
  g.write(path);
  return path;
}

// The perplexity of `model` on the first `windows` windows of 128 tokens of the TinyStories slice.
double perplexity_of(const std::string& model, const std::string& backend, int windows) {
  eval::EvalOptions o;
  o.model_path = model;
  o.dataset = kText;
  o.seqlen = 128;
  o.max_windows = windows;
  o.backend = backend;
  return eval::run_eval(o).perplexity;
}

TEST(GgufModel, StoriesAsGgufIsTheSameModelBitForBit) {
  const std::string path = write_stories_gguf(GgmlType::F32, "stories_f32");
  LoadedModel a = load_model(kBin), b = load_model(path);
  const std::string text = "Once upon a time, there was a little girl named Lily. She loved to play outside.";
  const std::vector<int> ids = a.tokenize(text);
  EXPECT_EQ(b.tokenize(text), ids);  // the vocabulary from the GGUF metadata
  const at::Tensor la = a.decoder->forward(ids, Backend::Float), lb = b.decoder->forward(ids, Backend::Float);
  EXPECT_TRUE(at::equal(la, lb));
  EXPECT_EQ(model_linear_names(path), model_linear_names(kBin));
  // And through the evaluation: the same perplexity to the bit.
  EXPECT_EQ(perplexity_of(path, "hw", 2), perplexity_of(kBin, "hw", 2));
  fs::remove(path);
}

TEST(GgufModel, Q4_0LinearsLoadAsGgmlDequantizesThem) {
  const std::string path = write_stories_gguf(GgmlType::Q4_0, "stories_q4_0");
  const GgufFile file = GgufFile::open(path);
  const GgufTensor* q = file.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, static_cast<std::uint32_t>(GgmlType::Q4_0));
  LoadedModel m = load_model(path);
  const std::vector<float> deq = file.dequantize(*q);
  const at::Tensor w = m.decoder->block_linears(0)[0]->weight().contiguous();
  ASSERT_EQ(static_cast<std::size_t>(w.numel()), deq.size());
  EXPECT_EQ(std::memcmp(w.data_ptr<float>(), deq.data(), deq.size() * sizeof(float)), 0);
  // 4-bit attention weights cost perplexity, but the model still works.
  const double ppl_f32 = perplexity_of(kBin, "float", 4);
  const double ppl_q4 = perplexity_of(path, "float", 4);
  EXPECT_GT(ppl_q4, ppl_f32);
  EXPECT_LT(ppl_q4, 1.5 * ppl_f32);
  fs::remove(path);
}

TEST(GgufModel, AnotherArchitectureOrAMissingTensorIsRefusedByName) {
  GgufWriter g;
  g.set_string("general.architecture", "falcon");
  const std::string path = (fs::temp_directory_path() / "oacim_falcon.gguf").string();
  g.write(path);
  try {
    (void)load_model(path);
    FAIL() << "a falcon GGUF was loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'general.architecture' is 'falcon'"), std::string::npos) << e.what();
  }
  GgufWriter h;
  h.set_string("general.architecture", "llama");
  for (const char* k : {"llama.embedding_length", "llama.feed_forward_length", "llama.block_count",
                        "llama.attention.head_count", "llama.context_length"}) {
    h.set_u32(k, std::string(k) == "llama.block_count" ? 1 : std::string(k) == "llama.attention.head_count" ? 4 : 64);
  }
  h.add_tensor("token_embd.weight", {64, 4}, std::vector<float>(256, 0.1f), GgmlType::F32);
  h.write(path);
  try {
    (void)load_model(path);
    FAIL() << "a GGUF without block tensors was loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'blk.0.attn_norm.weight' is missing"), std::string::npos) << e.what();
  }
  fs::remove(path);
}

}  // namespace
}  // namespace oacim::model
