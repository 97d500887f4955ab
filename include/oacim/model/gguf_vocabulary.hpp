#pragma once
// The tokenizer a GGUF file carries in its metadata (tokenizer.ggml.*), as oacim's own tokenizers:
// "llama" (SentencePiece pieces with scores: BOS 1, EOS 2, <0xNN> byte fallback) as a
// Llama2cTokenizer, "gpt2" (byte-level BPE pieces with ranked merges) as a BpeTokenizer. FormatError naming the file and key for another model kind, missing or
// mismatched arrays, or special ids the tokenizer does not use. No torch.
#include "oacim/core/gguf.hpp"
#include "oacim/model/bpe_tokenizer.hpp"
#include "oacim/model/llama2c_tokenizer.hpp"

namespace oacim::model {

Llama2cTokenizer llama_tokenizer_from_gguf(const GgufFile& file);
BpeTokenizer gpt2_tokenizer_from_gguf(const GgufFile& file);

}  // namespace oacim::model
