// Hugging Face tokenizer.json readers on real vocabularies: GPT-2's (OpenAI's encoder.json and
// vocab.bpe written as tokenizer.json, merges in both of the library's spellings) and LLaMA-2's
// SentencePiece model (its pieces and the merges HF's converter derives from their scores), each
// against llama.cpp's test vectors; the loader choosing tokenizer.json; malformed files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "../support/vocab_vectors.hpp"
#include "oacim/core/error.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/model/bpe_tokenizer.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"
#include "oacim/model/model_loader.hpp"

namespace oacim::model {
namespace {

const std::string kTok = std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers";
const std::string kMeta = "\xE2\x96\x81";  // U+2581

std::string write_json(const std::string& name, const nlohmann::json& j) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << j.dump();
  return path;
}

nlohmann::json gpt2_tokenizer_json(bool pair_merges) {
  nlohmann::json merges = nlohmann::json::array();
  std::istringstream in(read_whole_file(kTok + "/gpt2.vocab.bpe"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const std::size_t sp = line.find(' ');
    if (pair_merges) merges.push_back({line.substr(0, sp), line.substr(sp + 1)});
    else merges.push_back(line);
  }
  nlohmann::json vocab = read_json_file(kTok + "/gpt2.encoder.json");
  vocab.erase("<|endoftext|>");  // HF keeps it in added_tokens
  return {{"version", "1.0"},
          {"added_tokens", {{{"id", 50256}, {"content", "<|endoftext|>"}, {"special", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

TEST(TokenizerJson, Gpt2MatchesLlamaCppVectorsWithBothMergeSpellings) {
  const auto cases = test::vocab_vectors(kTok + "/ggml-vocab-gpt-2.gguf");
  ASSERT_GT(cases.size(), 40u);
  for (bool pairs : {false, true}) {
    const BpeTokenizer t = BpeTokenizer::load_tokenizer_json(write_json("gpt2.json", gpt2_tokenizer_json(pairs)));
    EXPECT_EQ(t.vocab_size(), 50257);
    for (const auto& [input, want] : cases) EXPECT_EQ(t.encode(input), want) << "input '" << input << "'";
  }
}

// HF's SentencePieceExtractor: for every piece by descending score, every split into two
// pieces of the vocabulary is a merge; merges sorted by the piece's score (stable).
nlohmann::json llama_tokenizer_json() {
  const Llama2cTokenizer sp = Llama2cTokenizer::load_sentencepiece(kTok + "/llama2_sp32k.tokenizer.model");
  std::vector<std::string> pieces;
  for (int i = 0; i < sp.vocab_size(); ++i) {
    std::string p = sp.piece(i);
    if (i == 1) p = "<s>";
    if (i == 2) p = "</s>";
    std::string raw;
    for (char c : p) raw += c == ' ' ? kMeta : std::string(1, c);
    pieces.push_back(raw);
  }
  std::set<std::string> in_vocab(pieces.begin(), pieces.end());
  std::vector<int> order(pieces.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sp.score(a) > sp.score(b); });
  nlohmann::json merges = nlohmann::json::array();
  for (int id : order) {
    if (id < 3 || pieces[static_cast<std::size_t>(id)].rfind("<0x", 0) == 0) continue;
    const std::string& p = pieces[static_cast<std::size_t>(id)];
    for (std::size_t cut = 1; cut < p.size(); ++cut) {
      if ((static_cast<unsigned char>(p[cut]) & 0xC0) == 0x80) continue;  // split between code points
      const std::string l = p.substr(0, cut), r = p.substr(cut);
      if (in_vocab.count(l) && in_vocab.count(r)) merges.push_back({l, r});
    }
  }
  nlohmann::json vocab = nlohmann::json::object();
  for (std::size_t i = 0; i < pieces.size(); ++i) vocab[pieces[i]] = i;
  return {{"added_tokens", {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                            {{"id", 1}, {"content", "<s>"}, {"special", true}},
                            {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
          {"normalizer", {{"type", "Sequence"},
                          {"normalizers", {{{"type", "Prepend"}, {"prepend", kMeta}},
                                           {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}}}}}},
          {"pre_tokenizer", nullptr},
          {"model", {{"type", "BPE"}, {"byte_fallback", true}, {"vocab", vocab}, {"merges", merges}}}};
}

TEST(TokenizerJson, LlamaMatchesLlamaCppSpmVectors) {
  const Llama2cTokenizer t = Llama2cTokenizer::load_tokenizer_json(write_json("llama.json", llama_tokenizer_json()));
  const Llama2cTokenizer sp = Llama2cTokenizer::load_sentencepiece(kTok + "/llama2_sp32k.tokenizer.model");
  ASSERT_EQ(t.vocab_size(), 32000);
  for (int i = 0; i < 32000; ++i) ASSERT_EQ(t.piece(i), sp.piece(i)) << i;
  const auto cases = test::vocab_vectors(kTok + "/ggml-vocab-llama-spm.gguf");
  ASSERT_GT(cases.size(), 40u);
  for (const auto& [input, want] : cases) EXPECT_EQ(t.encode(input, false, false), want) << "input '" << input << "'";
}

TEST(TokenizerJson, MalformedFilesNameTheProblem) {
  auto expect_error = [](const nlohmann::json& j, const std::string& what, bool llama) {
    const std::string path = write_json("bad.json", j);
    try {
      if (llama) (void)Llama2cTokenizer::load_tokenizer_json(path);
      else (void)BpeTokenizer::load_tokenizer_json(path);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  };
  const nlohmann::json byte_level = {{"pre_tokenizer", {{"type", "ByteLevel"}}},
                                     {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b"}}}}};
  expect_error({{"model", {{"type", "Unigram"}}}}, "only BPE", false);
  expect_error({{"nothing", 1}}, "'model'", false);
  expect_error({{"pre_tokenizer", {{"type", "ByteLevel"}}}, {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", {"ab"}}}}},
               "merges[0]", false);
  expect_error({{"pre_tokenizer", {{"type", "ByteLevel"}}}, {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 2}}}, {"merges", nlohmann::json::array()}}}},
               "no piece has id 1", false);
  expect_error({{"pre_tokenizer", {{"type", "Metaspace"}}}, {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", nlohmann::json::array()}}}},
               "not a byte-level BPE", false);
  expect_error({{"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Split"}}, {{"type", "ByteLevel"}}}}}},
                {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", nlohmann::json::array()}}}},
               "Split", false);
  expect_error(byte_level, "byte-level", true);
  expect_error({{"model", {{"type", "BPE"}, {"vocab", {{"a", "x"}}}, {"merges", nlohmann::json::array()}}}}, "model.vocab['a']", true);
  // Hostile shapes: an id far beyond the vocabulary (once a 2^31-entry allocation), fields of the
  // wrong type (once an escaping JSON type error).
  expect_error({{"pre_tokenizer", {{"type", "ByteLevel"}}}, {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 2147483647}}}, {"merges", nlohmann::json::array()}}}},
               "no piece has id 1", false);
  expect_error({{"model", {{"type", "BPE"}, {"vocab", {{"<unk>", 0}, {"x", 2000000000}}}, {"merges", nlohmann::json::array()}}}},
               "no piece has id 1", true);
  expect_error({{"model", {{"type", 7}}}}, "'type' is not a string", false);
  expect_error({{"model", {{"type", "BPE"}, {"byte_fallback", "yes"}, {"vocab", {{"a", 0}}}, {"merges", nlohmann::json::array()}}}},
               "'byte_fallback' is not true or false", true);
  EXPECT_NO_THROW(BpeTokenizer::load_tokenizer_json(write_json("ok.json", byte_level)));
}

// A 1-layer GPT-2 directory whose only tokenizer is tokenizer.json: the loader reads it.
TEST(TokenizerJson, LoaderUsesItWhenNoVocabPairIsThere) {
  const std::string dir = ::testing::TempDir() + "/gpt2_tj";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const int V = 50257, D = 8, F = 4 * D, P = 16;  // GPT-2: n_inner = 4 n_embd
  std::ofstream(dir + "/config.json") << nlohmann::json{{"model_type", "gpt2"}, {"n_embd", D}, {"n_layer", 1}, {"n_head", 2},
                                                        {"n_positions", P}, {"vocab_size", V}}.dump();
  SafetensorsWriter w;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float value) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    w.add(name, DType::F32, shape, std::vector<float>(static_cast<std::size_t>(n), value));
  };
  add("wte.weight", {V, D}, 0.01f);
  add("wpe.weight", {P, D}, 0.0f);
  for (const char* ln : {"h.0.ln_1", "h.0.ln_2", "ln_f"}) {
    add(std::string(ln) + ".weight", {D}, 1.0f);
    add(std::string(ln) + ".bias", {D}, 0.0f);
  }
  for (const auto& [name, in, out] : std::vector<std::tuple<std::string, int, int>>{
           {"h.0.attn.c_attn", D, 3 * D}, {"h.0.attn.c_proj", D, D}, {"h.0.mlp.c_fc", D, F}, {"h.0.mlp.c_proj", F, D}}) {
    add(name + ".weight", {in, out}, 0.01f);
    add(name + ".bias", {out}, 0.0f);
  }
  w.write(dir + "/model.safetensors");
  EXPECT_THROW(load_model(dir), FormatError);  // no tokenizer at all
  std::ofstream(dir + "/tokenizer.json") << gpt2_tokenizer_json(false).dump();
  const LoadedModel m = load_model(dir);
  EXPECT_EQ(m.tokenize("Hello world"), (std::vector<int>{15496, 995}));
  EXPECT_EQ(m.token_text(995), " world");
}

}  // namespace
}  // namespace oacim::model
