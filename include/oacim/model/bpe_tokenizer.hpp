#pragma once
// GPT-2 / OPT byte-level BPE: `encoder.json` (piece -> id) and `vocab.bpe` (ranked merges), as
// OpenAI's encoder.py does it: the GPT-2 pre-tokenizer pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (hand-written matcher over generated Unicode letter/number tables), each piece's UTF-8 bytes
// mapped to printable characters, then the lowest-ranked bigram merged everywhere until none is
// left. No torch, no regex library.
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace oacim::model {

// The smallest id >= 0 that `ids` lacks (tokenizer vocabularies must hold 0..n-1 without gaps).
int first_missing_id(std::vector<int> ids);

class BpeTokenizer {
 public:
  // `vocab_json`: encoder.json; `merges`: vocab.bpe. FormatError naming the file on bad input.
  static BpeTokenizer load(const std::string& vocab_json, const std::string& merges);
  // A Hugging Face `tokenizer.json` with a BPE model and a ByteLevel pre-tokenizer (GPT-2, OPT):
  // model.vocab, model.merges ("a b" strings or [a, b] pairs) and added_tokens.
  static BpeTokenizer load_tokenizer_json(const std::string& path);

  // From a vocabulary (piece, id) and ranked merges ("a b" split in two) held anywhere: a GGUF
  // file's tokenizer.ggml.tokens and .merges. `source` names it in errors.
  static BpeTokenizer from_vocabulary(const std::string& source, const std::vector<std::pair<std::string, int>>& vocab,
                                      const std::vector<std::pair<std::string, std::string>>& merges) {
    return build(source, vocab, merges);
  }

  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;
  int vocab_size() const { return static_cast<int>(id_to_piece_.size()); }

  // The pre-tokenizer alone (exposed for tests): the pieces of `text`, as UTF-8.
  static std::vector<std::string> pre_tokenize(const std::string& text);

 private:
  static BpeTokenizer build(const std::string& source, const std::vector<std::pair<std::string, int>>& vocab,
                            const std::vector<std::pair<std::string, std::string>>& merges);
  std::vector<std::string> bpe(const std::string& mapped) const;
  std::unordered_map<std::string, int> piece_to_id_;
  std::vector<std::string> id_to_piece_;
  std::map<std::pair<std::string, std::string>, int> ranks_;
  std::string byte_to_char_[256];  // printable stand-in (UTF-8) of each byte
  std::unordered_map<std::string, unsigned char> char_to_byte_;
};

}  // namespace oacim::model
