#pragma once
// llama2.c's `tokenizer.bin`: max_token_length (int32), then per token a float score, an int32
// length and the UTF-8 bytes of the piece. Encoding follows llama2.c's run.c exactly: optional BOS
// (id 1), a dummy-prefix space, one piece per UTF-8 code point (byte fallback to ids 3..258 for
// code points not in the vocabulary), then greedy merges of the adjacent pair whose merged piece
// has the highest score. Decoding strips the space after BOS and turns <0xNN> pieces into bytes.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace oacim::model {

class Llama2cTokenizer {
 public:
  static constexpr int kBos = 1;
  static constexpr int kEos = 2;

  // `vocab_size` comes from the model header; the file must hold exactly that many pieces.
  static Llama2cTokenizer load(const std::string& path, int vocab_size);
  // A SentencePiece `tokenizer.model` (protobuf ModelProto, read by a small wire-format parser of
  // our own: libsentencepiece cannot share a binary with libtorch), turned into the same pieces
  // llama2.c's export writes: U+2581 becomes a space, BOS/EOS become "\n<s>\n" / "\n</s>\n".
  static Llama2cTokenizer load_sentencepiece(const std::string& path);
  // A Hugging Face `tokenizer.json` of the LLaMA (SentencePiece BPE) kind: metaspace pieces,
  // <0xNN> byte fallback; a merged piece scores minus the rank of its first merge.
  static Llama2cTokenizer load_tokenizer_json(const std::string& path);

  // SentencePiece pieces (U+2581 for a space) with their scores, in id order, from any container
  // (a GGUF file's tokenizer.ggml.tokens and .scores); `source` names it in errors.
  static Llama2cTokenizer from_pieces(const std::vector<std::string>& pieces, const std::vector<float>& scores,
                                      const std::string& source);

  std::vector<int> encode(const std::string& text, bool bos, bool eos) const;
  // The text of `token` following `prev` (what llama2.c prints).
  std::string decode(int prev, int token) const;
  int vocab_size() const { return static_cast<int>(pieces_.size()); }
  const std::string& piece(int id) const { return pieces_.at(static_cast<std::size_t>(id)); }
  float score(int id) const { return scores_.at(static_cast<std::size_t>(id)); }

 private:
  int lookup(const std::string& s) const;
  void add_piece(std::string piece, float score);
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace oacim::model
