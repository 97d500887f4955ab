#pragma once
// Opens any model oacim runs, with its tokenizer: a llama2.c checkpoint (tokenizer.bin or
// tok<vocab>.bin beside it), a Hugging Face directory (llama: tokenizer.model; opt, gpt2:
// vocab.json + merges.txt), or a quantized model directory written by `oacim quantize`
// (quantized_model.hpp), which names its source model and carries the packed Linears.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "oacim/model/decoder.hpp"

namespace oacim::model {

struct LoadedModel {
  std::unique_ptr<Decoder> decoder;
  std::function<std::vector<int>(const std::string&)> tokenize;  // with the family's prefix
  std::function<std::string(int)> token_text;  // the decoded text of one token alone
  std::vector<int> prefix_ids;   // what tokenize puts before every text (LLaMA: BOS; OPT: </s>)
  std::vector<int> special_ids;  // control tokens (never a sampled first token)
  std::vector<int> stop_ids;     // end of a text (llama2.c: BOS or EOS; HF: EOS)
  std::string model_path;      // as given
  std::string source_model;    // the float checkpoint (the model itself unless quantized)
  std::string tokenizer_path;  // "" = the default beside the model
  bool quantized = false;      // block Linears carry packed weights from a quantized directory
  // A quantized checkpoint (GGUF Q4_0/Q4_1/Q4_K tensors): the block Linears that carry the file's
  // own codes as packed weights, the largest |chip value - file value| of that mapping
  // (core/gguf_cells.hpp), and the block Linears of a quantized type no 4-bit cell holds
  // ("name (Q8_0)"), which a quantized backend must requantize or refuse.
  int file_packed_linears = 0;
  double file_packed_max_abs_error = 0.0;
  std::vector<std::string> unfit_linears;
};

// A given tokenizer overrides the LLaMA ones (a SentencePiece .model or a llama2.c .bin).
// Throws FormatError / InvalidArgument naming the file.
LoadedModel load_model(const std::string& model_path, const std::string& tokenizer_path = "");

}  // namespace oacim::model
