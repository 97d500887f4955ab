#pragma once
// A quantized model directory (what `oacim quantize` writes):
//   quantized.safetensors  every block Linear as PackedCimWeights under "<layer>." (packed_io.hpp)
//                          and every non-Linear tensor of the model (Decoder::named_tensors)
//                          under "tensor.<name>", as F16 or BF16 when that holds every value
//                          exactly (a half-precision checkpoint's embedding), F32 otherwise;
//                          loaded back to the same fp32 values. __metadata__ holds the format tag, the
//                          source model and tokenizer paths and the quantization options (JSON).
// The classifier stays in full precision and is taken from the source model.
#include <functional>
#include <string>

#include "oacim/core/safetensors.hpp"
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
// Adds the packed tensors of a Linear that does not hold them in memory to `w`, under
// "<name>." as add_packed writes them (a quantizer that released them after storing them in its
// block checkpoints).
using StoredPackedTensors = std::function<void(SafetensorsWriter& w, const QuantLinear& lin)>;

// Every block Linear must hold packed weights, or `stored` supply them. Writes atomically
// (creates `dir`), streaming: neither the file nor the packed tensors are copied in memory.
void save_quantized_model(const std::string& dir, Decoder& model, const QuantizedModelInfo& info,
                          const StoredPackedTensors& stored = {});
// Loads the packed Linears and the tensors into `model` (built from info.source_model); shapes
// and names are checked (FormatError naming the file and tensor).
void apply_quantized_model(const std::string& dir, Decoder& model);

}  // namespace oacim::model
