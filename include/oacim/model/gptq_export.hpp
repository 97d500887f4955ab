#pragma once
// `oacim export`: an oacim quantized directory (without outliers) as a GPTQ checkpoint that
// AutoGPTQ, GPTQModel, transformers and vLLM load (docs/models.md "GPTQ checkpoints"): the source
// Hugging Face directory's config.json with a quantization_config, quantize_config.json, the
// tokenizer files, and model.safetensors with every block Linear as qweight/qzeros/scales/g_idx
// (core/gptq_format.hpp) and every other tensor as the source stores it (norms the quantized
// directory changed, e.g. by norm tweaking, in the source's dtype). Written to a temporary
// directory and renamed into place: no half-written checkpoint. The option table is torch-free.
#include <string>
#include <vector>

#include "oacim/core/option_table.hpp"
#include "oacim/core/progress.hpp"

namespace oacim::model {

struct GptqExportOptions {
  std::string quantized_dir;          // `oacim quantize` (or tweak) output
  std::string out_dir;
  std::string checkpoint_format = "gptq";  // gptq (zero - 1 stored) | gptq_v2
  int group_size = 0;                 // 0: the largest group every Linear's blocks share
  ProgressFn progress;
};

const std::vector<Option<GptqExportOptions>>& gptq_export_options();

struct GptqExportResult {
  int linears = 0;
  int bits = 0;
  int group_size = 0;        // -1: one group per row
  bool sym = false;
  bool desc_act = false;
  double max_scale_change = 0.0;  // the largest relative change of a scale rounded to fp16
  int tensors_changed = 0;   // non-Linear tensors written from the quantized directory (tweaked norms)
};

// InvalidArgument (option or Linear name) for what the layout cannot hold; FormatError for files.
GptqExportResult export_gptq(const GptqExportOptions& options);

}  // namespace oacim::model
