#pragma once
// A quantized model directory (what `oacim quantize` writes):
//   quantized.safetensors  every block Linear as PackedCimWeights under "<layer>." (packed_io.hpp)
//                          and every non-Linear tensor of the model (Decoder::named_tensors) as
//                          F32 under "tensor.<name>"; __metadata__ holds the format tag, the
//                          source model and tokenizer paths and the quantization options (JSON).
// The classifier stays in full precision and is taken from the source model.
#include <string>

#include "oacim/model/decoder.hpp"

namespace oacim::model {

inline constexpr const char* kQuantizedFile = "quantized.safetensors";

struct QuantizedModelInfo {
  std::string source_model;    // absolute path of the float checkpoint
  std::string tokenizer_path;  // "" = the default beside it
  std::string options_json;    // how it was quantized
  std::string tweak_json;      // how its norms were tweaked ("" = not tweaked)
};

bool is_quantized_model_dir(const std::string& path);
QuantizedModelInfo read_quantized_info(const std::string& dir);
// Every block Linear must hold packed weights. Writes atomically (creates `dir`).
void save_quantized_model(const std::string& dir, Decoder& model, const QuantizedModelInfo& info);
// Loads the packed Linears and the tensors into `model` (built from info.source_model); shapes
// and names are checked (FormatError naming the file and tensor).
void apply_quantized_model(const std::string& dir, Decoder& model);

}  // namespace oacim::model
