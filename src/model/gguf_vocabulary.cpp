#include "oacim/model/gguf_vocabulary.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"

namespace oacim::model {

Llama2cTokenizer llama_tokenizer_from_gguf(const GgufFile& f) {
  const std::string kind = f.string_value("tokenizer.ggml.model");
  if (kind != "llama") {
    throw FormatError(f.path(), fmt::format("metadata key 'tokenizer.ggml.model' is '{}'; oacim reads 'llama' (SentencePiece) "
                                            "vocabularies from GGUF",
                                            kind));
  }
  // BOS/EOS are where the SentencePiece LLaMA vocabularies put them (oacim's tokenizer relies on it).
  for (const auto& [key, want] : {std::pair<const char*, int>{"tokenizer.ggml.bos_token_id", Llama2cTokenizer::kBos},
                                  std::pair<const char*, int>{"tokenizer.ggml.eos_token_id", Llama2cTokenizer::kEos}}) {
    if (f.has(key) && f.int_value(key) != want) {
      throw FormatError(f.path(), fmt::format("metadata key '{}' is {}; oacim's SentencePiece tokenizer uses {}", key,
                                              f.int_value(key), want));
    }
  }
  const std::vector<std::string> tokens = f.strings_value("tokenizer.ggml.tokens");
  const std::vector<double> scores = f.floats_value("tokenizer.ggml.scores");
  return Llama2cTokenizer::from_pieces(tokens, std::vector<float>(scores.begin(), scores.end()),
                                       f.path() + " (tokenizer.ggml.tokens/scores)");
}

BpeTokenizer gpt2_tokenizer_from_gguf(const GgufFile& f) {
  const std::string kind = f.string_value("tokenizer.ggml.model");
  if (kind != "gpt2") {
    throw FormatError(f.path(), fmt::format("metadata key 'tokenizer.ggml.model' is '{}', not 'gpt2' (byte-level BPE)", kind));
  }
  const std::vector<std::string> tokens = f.strings_value("tokenizer.ggml.tokens");
  std::vector<std::pair<std::string, int>> vocab;
  vocab.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) vocab.emplace_back(tokens[i], static_cast<int>(i));
  std::vector<std::pair<std::string, std::string>> merges;
  for (const std::string& m : f.strings_value("tokenizer.ggml.merges")) {
    const auto space = m.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == m.size()) {
      throw FormatError(f.path(), fmt::format("metadata key 'tokenizer.ggml.merges': '{}' is not two pieces", m));
    }
    merges.emplace_back(m.substr(0, space), m.substr(space + 1));
  }
  return BpeTokenizer::from_vocabulary(f.path() + " (tokenizer.ggml.tokens/merges)", vocab, merges);
}

}  // namespace oacim::model
