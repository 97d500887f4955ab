// GPT-2 byte-level BPE against llama.cpp's GPT-2 tokenizer test vectors (OpenAI's vocabulary), the
// pre-tokenizer on hand-written cases, round trips and malformed files.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../support/vocab_vectors.hpp"
#include "oacim/core/error.hpp"
#include "oacim/model/bpe_tokenizer.hpp"

namespace oacim::model {
namespace {

const std::string kTok = std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers";

BpeTokenizer gpt2() { return BpeTokenizer::load(kTok + "/gpt2.encoder.json", kTok + "/gpt2.vocab.bpe"); }

TEST(BpeTokenizer, PreTokenizerFollowsTheGpt2Pattern) {
  using V = std::vector<std::string>;
  EXPECT_EQ(BpeTokenizer::pre_tokenize("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(BpeTokenizer::pre_tokenize("I'll don't"), (V{"I", "'ll", " don", "'t"}));
  EXPECT_EQ(BpeTokenizer::pre_tokenize("a   b"), (V{"a", "  ", " b"}));
  EXPECT_EQ(BpeTokenizer::pre_tokenize("x\n\n y"), (V{"x", "\n\n", " y"}));
  EXPECT_EQ(BpeTokenizer::pre_tokenize("3.14 ok!?"), (V{"3", ".", "14", " ok", "!?"}));
  EXPECT_EQ(BpeTokenizer::pre_tokenize("end  "), (V{"end", "  "}));
  EXPECT_EQ(BpeTokenizer::pre_tokenize("нещо на"), (V{"нещо", " на"}));
}

TEST(BpeTokenizer, MatchesLlamaCppGpt2TestVectors) {
  const BpeTokenizer t = gpt2();
  EXPECT_EQ(t.vocab_size(), 50257);
  const auto cases = test::vocab_vectors(kTok + "/ggml-vocab-gpt-2.gguf");
  for (const auto& [input, want] : cases) {
    const std::vector<int> got = t.encode(input);
    EXPECT_EQ(got, want) << "input '" << input << "'";
    EXPECT_EQ(t.decode(got), input);
  }
  const std::size_t k = cases.size();
  EXPECT_GT(k, 40u);
}

TEST(BpeTokenizer, MalformedFiles) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/enc.json") << "{\"a\": 0, \"b\": \"x\"}";
  EXPECT_THROW(BpeTokenizer::load(dir + "/enc.json", kTok + "/gpt2.vocab.bpe"), FormatError);
  std::ofstream(dir + "/enc2.json") << "{\"a\": 0";
  EXPECT_THROW(BpeTokenizer::load(dir + "/enc2.json", kTok + "/gpt2.vocab.bpe"), FormatError);
  std::ofstream(dir + "/merges.txt") << "#version: 0.2\nab\n";
  EXPECT_THROW(BpeTokenizer::load(kTok + "/gpt2.encoder.json", dir + "/merges.txt"), FormatError);
  EXPECT_THROW(BpeTokenizer::load(dir + "/missing.json", kTok + "/gpt2.vocab.bpe"), FormatError);
}

}  // namespace
}  // namespace oacim::model
