// LLaMA models from GGUF files: the bundled stories260K written as GGUF (weights, hyper-parameters
// and its SentencePiece vocabulary in the metadata) loads into the same decoder, bit for bit, and
// tokenizes alike; its Linears in Q4_0 load as ggml dequantizes them; bad files are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/gguf.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"
#include "oacim/model/model_layout.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"
#include "oacim/quant/quantize_run.hpp"

namespace oacim::model {
namespace {

namespace fs = std::filesystem;
const std::string kBin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";
const std::string kTok = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/tok512.bin";
const std::string kText = std::string(OACIM_SOURCE_DIR) + "/tests/data/tinystories-valid-slice.txt";

// How a test stores one block Linear (ggml shape {in, out}, values row after row).
using LinearWriter = std::function<void(GgufWriter&, const std::string& name, const std::vector<std::int64_t>& shape,
                                        const std::vector<float>& values)>;

LinearWriter as_type(GgmlType type) {
  return [type](GgufWriter& g, const std::string& name, const std::vector<std::int64_t>& shape, const std::vector<float>& v) {
    g.add_tensor(name, shape, v, shape[0] % 32 == 0 ? type : GgmlType::F32);  // rows of whole blocks only
  };
}

// `w` as llama.cpp's converter would write it, with stories260K's vocabulary; the block Linears
// through `linear` (ffn_down through `down`, when given).
std::string write_llama_gguf(const Llama2cWeights& w, const LinearWriter& linear, const std::string& name,
                             const LinearWriter& down = nullptr) {
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
    linear(g, b + "attn_q.weight", {D, D}, slice(w.wq, l, D * D));
    linear(g, b + "attn_k.weight", {D, KV}, slice(w.wk, l, KV * D));
    linear(g, b + "attn_v.weight", {D, KV}, slice(w.wv, l, KV * D));
    linear(g, b + "attn_output.weight", {D, D}, slice(w.wo, l, D * D));
    g.add_tensor(b + "ffn_norm.weight", {D}, slice(w.rms_ffn, l, D), GgmlType::F32);
    linear(g, b + "ffn_gate.weight", {D, H}, slice(w.w1, l, H * D));
    (down ? down : linear)(g, b + "ffn_down.weight", {H, D}, slice(w.w2, l, D * H));
    linear(g, b + "ffn_up.weight", {D, H}, slice(w.w3, l, H * D));
  }
  g.add_tensor("output_norm.weight", {D}, w.rms_final, GgmlType::F32);
  if (!c.shared_classifier) g.add_tensor("output.weight", {D, V}, w.wcls, GgmlType::F32);
  const std::string path = (fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".gguf")).string();
  g.write(path);
  return path;
}

// stories260K (its FFN, 172 wide, is not whole blocks of 32 and stays F32; ffn_down stays F32 too).
std::string write_stories_gguf(GgmlType linear_type, const std::string& name) {
  return write_llama_gguf(load_llama2c(kBin), as_type(linear_type), name, as_type(GgmlType::F32));
}

// A seeded random LLaMA of stories260K's vocabulary whose every Linear is whole blocks of 256.
Llama2cWeights random_llama(int dim, int hidden, unsigned seed) {
  Llama2cWeights w;
  Llama2cConfig& c = w.config;
  c = {dim, hidden, 2, 4, 4, 512, 256, true};
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  const auto fill = [&](std::vector<float>& v, std::size_t count, float scale, float mean = 0.0f) {
    v.resize(count);
    for (float& x : v) x = mean + scale * n(rng);
  };
  const std::size_t D = dim, H = hidden, L = 2;
  fill(w.tok_embeddings, 512 * D, 1.0f);
  fill(w.rms_att, L * D, 0.05f, 1.0f);
  fill(w.rms_ffn, L * D, 0.05f, 1.0f);
  fill(w.rms_final, D, 0.05f, 1.0f);
  for (auto* m : {&w.wq, &w.wk, &w.wv, &w.wo}) fill(*m, L * D * D, 1.0f / std::sqrt(static_cast<float>(dim)));
  for (auto* m : {&w.w1, &w.w3}) fill(*m, L * H * D, 1.0f / std::sqrt(static_cast<float>(dim)));
  fill(w.w2, L * D * H, 1.0f / std::sqrt(static_cast<float>(hidden)));
  w.wcls = w.tok_embeddings;
  return w;
}

// Random blocks of `type` as stored (fp16 scales of a sensible size, random codes).
LinearWriter random_blocks(GgmlType type, unsigned seed) {
  return [type, seed](GgufWriter& g, const std::string& name, const std::vector<std::int64_t>& shape, const std::vector<float>&) {
    std::mt19937 rng(seed + static_cast<unsigned>(name.size()) * 7919u);
    std::uniform_real_distribution<float> d(0.002f, 0.02f);
    std::uniform_int_distribution<int> byte(0, 255);
    const GgmlBlock b = ggml_block(static_cast<std::uint32_t>(type));
    const std::int64_t blocks = shape[0] * shape[1] / b.weights;
    std::string out;
    const auto f16 = [&out](float v) {
      const std::uint16_t h = fp16_bits_from_float(v);
      out.append(reinterpret_cast<const char*>(&h), 2);
    };
    for (std::int64_t i = 0; i < blocks; ++i) {
      f16(d(rng));
      if (type == GgmlType::Q4_1) f16(-8.0f * d(rng));  // the minimum
      if (type == GgmlType::Q4_K) f16(0.5f * d(rng));   // dmin
      const int payload = b.bytes - static_cast<int>(out.size() % b.bytes);
      for (int j = 0; j < payload; ++j) out += static_cast<char>(type == GgmlType::Q4_K && j < 12 ? byte(rng) % 64 : byte(rng));
    }
    g.add_raw_tensor(name, shape, type, std::move(out));
  };
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

eval::EvalResult eval_of(const std::string& model, const std::string& backend, const std::string& requantize = "none") {
  eval::EvalOptions o;
  o.model_path = model;
  o.dataset = kText;
  o.seqlen = 128;
  o.max_windows = 2;
  o.backend = backend;
  o.requantize = requantize;
  return eval::run_eval(o);
}

// The acceptance test: a random LLaMA in Q4_0 runs the file's own codes; fakequant equals
// ggml's dequantized float model bit for bit, and fakequant and hw equal the same weights imported
// through PackedCimWeights (a quantized directory written from the loaded model).
TEST(GgufModel, Q4_0ModelRunsTheFilesOwnCodesOnTheChip) {
  const std::string path = write_llama_gguf(random_llama(64, 128, 5), as_type(GgmlType::Q4_0), "random_q4_0");
  LoadedModel lm = load_model(path);
  EXPECT_EQ(lm.file_packed_linears, 14);
  EXPECT_EQ(lm.file_packed_max_abs_error, 0.0);
  EXPECT_TRUE(lm.unfit_linears.empty());
  for (QuantLinear* lin : lm.decoder->block_linears(1)) ASSERT_TRUE(lin->has_packed()) << lin->name();

  const eval::EvalResult fl = eval_of(path, "float"), fq = eval_of(path, "fakequant"), hw = eval_of(path, "hw");
  EXPECT_EQ(fq.perplexity, fl.perplexity);  // Q4_0 on the cells is ggml's value exactly
  EXPECT_EQ(hw.file_packed_linears, 14);
  EXPECT_EQ(hw.requantized_linears, 0);
  EXPECT_EQ(hw.file_scales, 2 * (4 * 64 * 2 + 2 * 128 * 2 + 64 * 4));  // rows x blocks of every Linear
  EXPECT_GT(hw.file_scales_rounded, 0);  // fp16 scales: the default bf16 scale format rounds most
  EXPECT_NE(hw.perplexity, fq.perplexity);

  const std::string dir = (fs::temp_directory_path() / ("oacim_q4_0_imported_" + std::to_string(::getpid()))).string();
  QuantizedModelInfo info;
  info.source_model = fs::absolute(path).string();
  save_quantized_model(dir, *lm.decoder, info);
  EXPECT_EQ(eval_of(dir, "fakequant").perplexity, fq.perplexity);
  EXPECT_EQ(eval_of(dir, "hw").perplexity, hw.perplexity);
  fs::remove_all(dir);
  fs::remove(path);
}

// Q4_1 and Q4_K (random blocks as stored): the codes run as they are, within the zero's fp32
// rounding of ggml's values; the weights the float backend sees are ggml's.
TEST(GgufModel, Q4_1AndQ4_KModelsRunWithinTheirZeroRounding) {
  for (const GgmlType type : {GgmlType::Q4_1, GgmlType::Q4_K}) {
    const std::string path = write_llama_gguf(random_llama(256, 256, 6), random_blocks(type, 11), "random_q4_1k");
    LoadedModel lm = load_model(path);
    EXPECT_EQ(lm.file_packed_linears, 14);
    EXPECT_GT(lm.file_packed_max_abs_error, 0.0);
    EXPECT_LT(lm.file_packed_max_abs_error, 4e-6);  // weights up to ~20 (Q4_K: d * sc to 1.3): a few ulps
    const std::vector<int> ids = lm.tokenize("Once upon a time, there was a little girl named Lily.");
    const at::Tensor a = lm.decoder->forward(ids, Backend::Float), b = lm.decoder->forward(ids, Backend::FakeQuant);
    EXPECT_LT((a - b).abs().max().item<float>(), 1e-3f) << ggml_type_name(static_cast<std::uint32_t>(type));
    fs::remove(path);
  }
}

// A Linear of a type no 4-bit cell holds (Q8_0 here, as llama.cpp's mixes keep some) is refused
// by a quantized backend with its name and type, or requantized with RTN when asked.
TEST(GgufModel, Q8_0LinearsAreRefusedOrRequantizedOnRequest) {
  const std::string path =
      write_llama_gguf(random_llama(64, 128, 7), as_type(GgmlType::Q4_0), "random_q8_down", random_blocks(GgmlType::Q8_0, 3));
  const LoadedModel lm = load_model(path);
  EXPECT_EQ(lm.file_packed_linears, 12);
  ASSERT_EQ(lm.unfit_linears.size(), 2u);
  EXPECT_EQ(lm.unfit_linears[0], "layers.0.feed_forward.w2 (Q8_0)");
  EXPECT_NO_THROW(eval_of(path, "float"));
  try {
    (void)eval_of(path, "hw");
    FAIL() << "Q8_0 Linears ran on the chip";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.key(), "requantize");
    EXPECT_NE(std::string(e.what()).find("layers.0.feed_forward.w2 (Q8_0)"), std::string::npos) << e.what();
  }
  const eval::EvalResult r = eval_of(path, "hw", "rtn");
  EXPECT_EQ(r.requantized_linears, 2);
  EXPECT_EQ(r.file_packed_linears, 12);
  EXPECT_TRUE(std::isfinite(r.perplexity));
  fs::remove(path);
}

// A mixed file (Q4_0 Linears, Q8_0 ffn_down, as llama.cpp's mixes keep wider types): OA quantizes
// only the Q8_0 Linears and the Q4_0 ones keep the file's codes, so the directory runs on the chip
// without --requantize.
TEST(GgufModel, QuantizeKeepsTheFilesCodesAndQuantizesOnlyTheRest) {
  const std::string path =
      write_llama_gguf(random_llama(64, 128, 7), as_type(GgmlType::Q4_0), "random_keep", random_blocks(GgmlType::Q8_0, 3));
  const std::string dir = (fs::temp_directory_path() / ("oacim_keep_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  quant::QuantizeRunOptions o;
  o.model_path = path;
  o.calib = kText;
  o.nsamples = 2;
  o.seqlen = 64;
  o.layer.method = quant::Method::Oa;
  o.layer.outliers = true;
  o.keep_file_codes = true;
  o.out_dir = dir;
  const quant::QuantizeRunResult r = quant::run_quantize(o);
  ASSERT_EQ(r.layers.size(), 14u);
  const LoadedModel file = load_model(path), quantized = load_model(dir);
  for (int l = 0; l < 2; ++l) {
    const auto a = file.decoder->block_linears(l), b = quantized.decoder->block_linears(l);
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSERT_TRUE(b[i]->has_packed());
      if (a[i]->has_packed()) {  // the file's codes, word for word
        EXPECT_EQ(b[i]->packed()->packed_words(), a[i]->packed()->packed_words()) << a[i]->name();
        EXPECT_EQ(b[i]->packed()->outlier_count(), 0);
      } else {  // the Q8_0 ffn_down, quantized by OA with outliers
        EXPECT_EQ(a[i]->name(), "layers." + std::to_string(l) + ".feed_forward.w2");
        EXPECT_GT(b[i]->packed()->outlier_count(), 0);
      }
    }
  }
  EXPECT_TRUE(std::isfinite(eval_of(dir, "hw").perplexity));
  o.model_path = kBin;  // a float model has no codes to keep
  o.out_dir = dir + "_float";
  EXPECT_THROW(quant::run_quantize(o), InvalidArgument);
  fs::remove_all(dir);
  fs::remove(path);
}

// A seeded random GPT-2 (64 wide, 2 blocks, GPT-2's own vocabulary from llama.cpp's vocabulary
// file) as a Hugging Face directory and as the GGUF llama.cpp's converter writes (weights as
// [out, in] rows, q/k/v fused in attn_qkv), its block Linears in `linear_type`.
struct Gpt2Files {
  std::string hf_dir, gguf;
};

Gpt2Files write_gpt2(GgmlType linear_type, const std::string& name) {
  const GgufFile vocab = GgufFile::open(std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/ggml-vocab-gpt-2.gguf");
  const std::vector<std::string> tokens = vocab.strings_value("tokenizer.ggml.tokens");
  const std::int64_t D = 64, F = 128, P = 128, V = static_cast<std::int64_t>(tokens.size());
  std::mt19937 rng(21);
  std::normal_distribution<float> n(0.0f, 1.0f);
  const auto random = [&](std::int64_t count, float scale, float mean = 0.0f) {
    std::vector<float> v(static_cast<std::size_t>(count));
    for (float& x : v) x = mean + scale * n(rng);
    return v;
  };
  // [rows, cols] row-major -> [cols, rows] (HF Conv1D stores [in, out]).
  const auto transpose = [](const std::vector<float>& v, std::int64_t rows, std::int64_t cols) {
    std::vector<float> t(v.size());
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) t[static_cast<std::size_t>(c * rows + r)] = v[static_cast<std::size_t>(r * cols + c)];
    }
    return t;
  };
  Gpt2Files out;
  out.hf_dir = (fs::temp_directory_path() / (name + "_hf_" + std::to_string(::getpid()))).string();
  out.gguf = (fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".gguf")).string();
  fs::create_directories(out.hf_dir);
  SafetensorsWriter hf;
  GgufWriter g;
  g.set_string("general.architecture", "gpt2");
  g.set_u32("gpt2.embedding_length", static_cast<std::uint32_t>(D));
  g.set_u32("gpt2.feed_forward_length", static_cast<std::uint32_t>(F));
  g.set_u32("gpt2.block_count", 2);
  g.set_u32("gpt2.attention.head_count", 4);
  g.set_u32("gpt2.context_length", static_cast<std::uint32_t>(P));
  g.set_f32("gpt2.attention.layer_norm_epsilon", 1e-5f);
  g.set_string("tokenizer.ggml.model", "gpt2");
  g.set_strings("tokenizer.ggml.tokens", tokens);
  g.set_strings("tokenizer.ggml.merges", vocab.strings_value("tokenizer.ggml.merges"));
  g.set_u32("tokenizer.ggml.eos_token_id", 50256);
  const auto both = [&](const std::string& hf_name, const std::string& gguf_name, const std::vector<std::int64_t>& torch_shape,
                        const std::vector<float>& v, GgmlType type, bool conv) {
    const std::int64_t rows = torch_shape[0], cols = torch_shape.size() > 1 ? torch_shape[1] : 1;
    if (conv) {
      hf.add(hf_name, DType::F32, {cols, rows}, transpose(v, rows, cols));
    } else {
      hf.add(hf_name, DType::F32, torch_shape, v);
    }
    const std::vector<std::int64_t> ggml_shape(torch_shape.rbegin(), torch_shape.rend());
    g.add_tensor(gguf_name, ggml_shape, v, type);
  };
  both("wte.weight", "token_embd.weight", {V, D}, random(V * D, 0.1f), GgmlType::F32, false);
  both("wpe.weight", "position_embd.weight", {P, D}, random(P * D, 0.1f), GgmlType::F32, false);
  for (int l = 0; l < 2; ++l) {
    const std::string h = "h." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
    both(h + "ln_1.weight", b + "attn_norm.weight", {D}, random(D, 0.05f, 1.0f), GgmlType::F32, false);
    both(h + "ln_1.bias", b + "attn_norm.bias", {D}, random(D, 0.05f), GgmlType::F32, false);
    both(h + "attn.c_attn.weight", b + "attn_qkv.weight", {3 * D, D}, random(3 * D * D, 0.125f), linear_type, true);
    both(h + "attn.c_attn.bias", b + "attn_qkv.bias", {3 * D}, random(3 * D, 0.02f), GgmlType::F32, false);
    both(h + "attn.c_proj.weight", b + "attn_output.weight", {D, D}, random(D * D, 0.125f), linear_type, true);
    both(h + "attn.c_proj.bias", b + "attn_output.bias", {D}, random(D, 0.02f), GgmlType::F32, false);
    both(h + "ln_2.weight", b + "ffn_norm.weight", {D}, random(D, 0.05f, 1.0f), GgmlType::F32, false);
    both(h + "ln_2.bias", b + "ffn_norm.bias", {D}, random(D, 0.05f), GgmlType::F32, false);
    both(h + "mlp.c_fc.weight", b + "ffn_up.weight", {F, D}, random(F * D, 0.125f), linear_type, true);
    both(h + "mlp.c_fc.bias", b + "ffn_up.bias", {F}, random(F, 0.02f), GgmlType::F32, false);
    both(h + "mlp.c_proj.weight", b + "ffn_down.weight", {D, F}, random(D * F, 0.09f), linear_type, true);
    both(h + "mlp.c_proj.bias", b + "ffn_down.bias", {D}, random(D, 0.02f), GgmlType::F32, false);
  }
  both("ln_f.weight", "output_norm.weight", {D}, random(D, 0.05f, 1.0f), GgmlType::F32, false);
  both("ln_f.bias", "output_norm.bias", {D}, random(D, 0.05f), GgmlType::F32, false);
  hf.write(out.hf_dir + "/model.safetensors");
  std::ofstream(out.hf_dir + "/config.json") << nlohmann::json({{"model_type", "gpt2"}, {"n_embd", D}, {"n_layer", 2}, {"n_head", 4},
                                                                 {"n_inner", F}, {"vocab_size", V}, {"n_positions", P}})
                                                    .dump();
  fs::copy_file(std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/gpt2.encoder.json", out.hf_dir + "/vocab.json");
  fs::copy_file(std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/gpt2.vocab.bpe", out.hf_dir + "/merges.txt");
  g.write(out.gguf);
  return out;
}

TEST(GgufModel, Gpt2AsGgufIsTheHuggingFaceModelBitForBit) {
  const Gpt2Files f = write_gpt2(GgmlType::F32, "gpt2_f32");
  LoadedModel a = load_model(f.hf_dir), b = load_model(f.gguf);
  const std::string text = "Hello world, this is GPT-2's tokenizer read from a GGUF file.";
  const std::vector<int> ids = a.tokenize(text);
  EXPECT_EQ(b.tokenize(text), ids);
  EXPECT_EQ(b.decoder->family(), "gpt2");
  EXPECT_TRUE(at::equal(a.decoder->forward(ids, Backend::Float), b.decoder->forward(ids, Backend::Float)));
  EXPECT_EQ(model_linear_names(f.gguf), model_linear_names(f.hf_dir));
  fs::remove_all(f.hf_dir);
  fs::remove(f.gguf);
}

// Q4_0 GPT-2: the fused q/k/v tensor gives each Linear its rows of the file's codes.
TEST(GgufModel, Gpt2Q4_0RunsTheFilesCodesIncludingTheFusedQkv) {
  const Gpt2Files f = write_gpt2(GgmlType::Q4_0, "gpt2_q4_0");
  LoadedModel lm = load_model(f.gguf);
  EXPECT_EQ(lm.file_packed_linears, 12);
  EXPECT_EQ(lm.file_packed_max_abs_error, 0.0);
  const std::vector<int> ids = lm.tokenize("Once upon a time, there was a little girl named Lily.");
  EXPECT_TRUE(at::equal(lm.decoder->forward(ids, Backend::Float), lm.decoder->forward(ids, Backend::FakeQuant)));
  const eval::EvalResult hw = eval_of(f.gguf, "hw");
  EXPECT_EQ(hw.file_packed_linears, 12);
  EXPECT_TRUE(std::isfinite(hw.perplexity));
  fs::remove_all(f.hf_dir);
  fs::remove(f.gguf);
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
