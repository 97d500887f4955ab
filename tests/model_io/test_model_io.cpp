// The torch-free readers of model files (llama2.c headers, tokenizers, the Linear layout) on hostile
// input: run in the sanitizer job too, so undefined behaviour on the way to an error is caught.
#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"
#include "oacim/core/gguf.hpp"
#include "oacim/core/text_file.hpp"
#include "oacim/model/gguf_vocabulary.hpp"
#include "oacim/model/llama2c_checkpoint.hpp"
#include "../support/vocab_vectors.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"
#include "oacim/model/model_layout.hpp"
#include "oacim/model/random_checkpoint.hpp"

namespace oacim::model {
namespace {

const std::string kBin = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/stories260K.bin";
const std::string kTok = std::string(OACIM_SOURCE_DIR) + "/tests/data/stories260K/tok512.bin";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string write_bytes(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(ModelIo, Llama2cHeaderOfInt32MinIsRefusedWithoutOverflow) {
  std::string header = read_bytes(kBin).substr(0, 28);
  const std::int32_t m = INT32_MIN;
  std::memcpy(header.data() + 20, &m, 4);  // vocab_size: negating it was undefined behaviour
  EXPECT_THROW(read_llama2c_config(write_bytes("int_min.bin", header)), FormatError);
  const Llama2cConfig c = read_llama2c_config(kBin);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.vocab_size, 512);
}

TEST(ModelIo, TokenizerOfTooFewPiecesAndNanScores) {
  std::string tok = read_bytes(kTok);
  EXPECT_THROW(Llama2cTokenizer::load(write_bytes("t.bin", tok), 2), FormatError);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(tok.data() + 4, &nan, 4);
  EXPECT_THROW(Llama2cTokenizer::load(write_bytes("nan.bin", tok), 512), FormatError);
}

TEST(ModelIo, LayoutNamesTheLlama2cLinears) {
  const std::vector<std::string> names = model_linear_names(kBin);
  ASSERT_EQ(names.size(), 5u * 7);
  EXPECT_EQ(names.front(), "layers.0.attention.wq");
  EXPECT_EQ(names.back(), "layers.4.feed_forward.w2");
  EXPECT_THROW(model_linear_names(kTok), FormatError);
}

TEST(ModelIo, HfConfigOfMillionsOfBlocksIsRefusedAtOnce) {
  // libFuzzer found this one: 16,666,626 blocks made the layout name 116 million Linears.
  const std::string dir = ::testing::TempDir() + "/hf_many_blocks";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << R"({"model_type": "gpt2", "n_embd": 8, "n_head": 2, "n_layer": 16666626,
                                            "vocab_size": 16, "n_positions": 32})";
  SafetensorsWriter w;
  w.add("wte.weight", DType::F32, {1, 4}, std::vector<float>(4, 0.5f));
  w.write(dir + "/model.safetensors");
  try {
    model_linear_names(dir);
    FAIL() << "a config of 16666626 blocks was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'n_layer' = 16666626 blocks"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oacim::model


namespace {

// Every llama.cpp test vector of `stem` encoded by `encode`; a failure per text that differs.
template <class Encode>
void expect_llama_cpp_ids(const std::string& stem, const Encode& encode) {
  const auto cases = oacim::test::vocab_vectors(stem);
  ASSERT_GE(cases.size(), 40u);
  for (const auto& [text, ids] : cases) {
    const std::vector<int> got = encode(text);
    EXPECT_EQ(got, ids) << "text '" << text << "': " << got.size() << " ids, llama.cpp gives " << ids.size();
  }
}

}  // namespace

TEST(GgufVocabulary, LlamaTokenizerFromGgufMetadataMatchesLlamaCpp) {
  const std::string stem = std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/ggml-vocab-llama-spm.gguf";
  const oacim::model::Llama2cTokenizer t = oacim::model::llama_tokenizer_from_gguf(oacim::GgufFile::open(stem));
  EXPECT_EQ(t.vocab_size(), 32000);
  expect_llama_cpp_ids(stem, [&](const std::string& text) {
    return text.empty() ? std::vector<int>{} : t.encode(text, false, false);
  });
}

TEST(GgufVocabulary, Gpt2TokenizerFromGgufMetadataMatchesLlamaCpp) {
  const std::string stem = std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/ggml-vocab-gpt-2.gguf";
  const oacim::model::BpeTokenizer t = oacim::model::gpt2_tokenizer_from_gguf(oacim::GgufFile::open(stem));
  EXPECT_EQ(t.vocab_size(), 50257);
  expect_llama_cpp_ids(stem, [&](const std::string& text) { return t.encode(text); });
}

TEST(GgufVocabulary, AGpt2VocabularyIsNotTakenForSentencePiece) {
  const std::string path = std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/ggml-vocab-gpt-2.gguf";
  try {
    (void)oacim::model::llama_tokenizer_from_gguf(oacim::GgufFile::open(path));
    FAIL() << "a GPT-2 vocabulary was read as SentencePiece";
  } catch (const oacim::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'tokenizer.ggml.model' is 'gpt2'"), std::string::npos) << e.what();
  }
}

namespace oacim::model {
namespace {

// `oacim random-model`: the same seed gives the same bytes, the tensors hold exactly the parameters
// the shape has, the Linear layout is the family's, and impossible shapes are refused by name.
TEST(RandomCheckpoint, SeededShapesWithTheirParameterCount) {
  const std::string base = ::testing::TempDir() + "/oacim_random_model_";
  for (const std::string family : {"llama", "opt"}) {
    RandomCheckpointOptions o;
    o.family = family;
    o.hidden = 32;
    o.intermediate = 64;
    o.layers = 2;
    o.heads = 4;
    o.kv_heads = family == "llama" ? 2 : 0;
    o.vocab = 100;
    o.positions = 64;
    o.seed = 5;
    std::vector<std::string> bytes;
    for (const char* run : {"a", "b"}) {
      o.out_dir = base + family + run;
      std::filesystem::remove_all(o.out_dir);
      write_random_checkpoint(o);
      bytes.push_back(read_whole_file(o.out_dir + "/model.safetensors"));
    }
    EXPECT_EQ(bytes[0], bytes[1]) << family;
    const SafetensorsFile f = SafetensorsFile::open(o.out_dir + "/model.safetensors");
    std::int64_t n = 0;
    for (const std::string& t : f.names()) {
      n += f.tensor(t).numel();
      EXPECT_EQ(f.tensor(t).dtype, DType::F16) << t;
    }
    o.resolve();
    EXPECT_EQ(n, o.parameters()) << family;
    EXPECT_EQ(model_linear_names(o.out_dir).size(), 2u * (family == "llama" ? 7 : 6)) << family;
    o.seed = 6;
    o.out_dir = base + family + "c";
    std::filesystem::remove_all(o.out_dir);
    write_random_checkpoint(o);
    EXPECT_NE(read_whole_file(o.out_dir + "/model.safetensors"), bytes[0]) << "another seed";
    for (const char* run : {"a", "b", "c"}) std::filesystem::remove_all(base + family + run);
  }
  RandomCheckpointOptions tiny;
  tiny.preset = "tinyllama-1.1b";
  tiny.resolve();
  EXPECT_EQ(tiny.parameters(), 1100048384);  // TinyLlama-1.1B's published count
  RandomCheckpointOptions opt;
  opt.preset = "opt-125m";
  opt.resolve();
  EXPECT_EQ(opt.parameters(), 125239296);  // OPT-125m's parameter count
  RandomCheckpointOptions bad;
  bad.preset = "opt-1.3b";
  bad.kv_heads = 8;
  try {
    bad.resolve();
    FAIL() << "grouped-query OPT";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.key(), "kv_heads");
  }
  RandomCheckpointOptions none;
  none.out_dir = base + "none";
  EXPECT_THROW(write_random_checkpoint(none), InvalidArgument);  // no sizes, no preset
}

}  // namespace
}  // namespace oacim::model
