#pragma once
// The parts of a Hugging Face `tokenizer.json` that oacim's tokenizers need: a BPE model's
// vocabulary (plus added_tokens) and ranked merges, and which pre-tokenizer / decoder steps it
// declares, so the GPT-2 byte-level and the LLaMA SentencePiece-style readers can check that the
// file is theirs. FormatError naming the file and the key for anything malformed. No torch.
#include <string>
#include <utility>
#include <vector>

namespace oacim::model {

struct TokenizerJson {
  std::vector<std::pair<std::string, int>> vocab;                // model.vocab + added_tokens
  std::vector<std::pair<std::string, std::string>> merges;       // rank order
  std::vector<int> special_ids;                                  // added_tokens with "special": true
  bool byte_level = false;     // a ByteLevel pre-tokenizer (GPT-2 family)
  bool split_regex = false;    // a Split pre-tokenizer with its own regex (Llama 3 style)
  bool byte_fallback = false;  // model.byte_fallback (SentencePiece-style <0xNN> pieces)
  bool metaspace = false;      // spaces become U+2581 (Metaspace pre-tokenizer or Replace normalizer)
};

TokenizerJson read_tokenizer_json(const std::string& path);

}  // namespace oacim::model
