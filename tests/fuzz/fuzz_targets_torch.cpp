// The fuzz targets that need libtorch: a quantized model directory applied to the bundled model,
// and a Hugging Face directory (config.json and model.safetensors from one input) built into its
// decoder.
#include <filesystem>
#include <memory>

#include "fuzz_targets.hpp"
#include "oacim/core/error.hpp"
#include "oacim/model/gpt_model.hpp"
#include "oacim/model/hf_checkpoint.hpp"
#include "oacim/model/llama_model.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quantized_model.hpp"

namespace fs = std::filesystem;

namespace oacim::fuzz {

namespace {

void quantized_dir(const std::string& bytes) {
  static model::LoadedModel lm = model::load_model(OACIM_FUZZ_MODEL, "");
  scratch_file("quantized/" + std::string(model::kQuantizedFile), bytes);
  const std::string dir = (fs::path(scratch_dir()) / "quantized").string();
  (void)model::read_quantized_info(dir);
  model::apply_quantized_model(dir, *lm.decoder);
}

void hf_model(const std::string& bytes) {
  const std::string sep = "\n=====\n";
  const std::size_t at = bytes.find(sep);
  if (at == std::string::npos) return;
  scratch_file("hfm/config.json", bytes.substr(0, at));
  scratch_file("hfm/model.safetensors", bytes.substr(at + sep.size()));
  const model::HfCheckpoint ck = model::HfCheckpoint::open((fs::path(scratch_dir()) / "hfm").string());
  const std::string type = ck.model_type();
  if (type == "opt" || type == "gpt2") {
    (void)model::GptModel::from_hf(ck);
  } else {
    (void)model::LlamaModel::from_hf(ck);
  }
}

}  // namespace

void add_torch_targets(std::vector<Target>& targets) {
  targets.push_back({"quantized_dir", quantized_dir});
  targets.push_back({"hf_model", hf_model});
}

}  // namespace oacim::fuzz
