#include "oacim/model/gptq_export.hpp"

namespace oacim::model {

namespace {

using K = OptionKind;
using T = GptqExportOptions;

std::vector<Option<T>> build() {
  return {
      bind<T>(option("quantized_dir", K::Path).required().cli("quantized")
                  .doc("quantized model directory (`oacim quantize`/`tweak --out`) whose source is a Hugging Face "
                       "LLaMA or OPT directory; no outliers"),
              [](auto& o) -> auto& { return o.quantized_dir; }),
      bind<T>(option("out_dir", K::Path).required().cli("out").doc("the GPTQ checkpoint directory to write"),
              [](auto& o) -> auto& { return o.out_dir; }),
      bind<T>(option("checkpoint_format", K::Choice, "gptq").choices({"gptq", "gptq_v2"}).cli("checkpoint-format")
                  .doc("gptq: zeros stored minus one (AutoGPTQ, transformers, vLLM; a zero of 0 cannot be stored) | "
                       "gptq_v2: zeros as they are (GPTQModel)"),
              [](auto& o) -> auto& { return o.checkpoint_format; }),
      bind<T>(option("group_size", K::Int, "0").range(0, 1 << 24).unit("columns").cli("group-size")
                  .doc("columns per GPTQ group, a multiple of the block size whose blocks share their scale and zero "
                       "(0: the largest such group common to every Linear)"),
              [](auto& o) -> auto& { return o.group_size; }),
  };
}

}  // namespace

const std::vector<Option<GptqExportOptions>>& gptq_export_options() {
  static const std::vector<Option<GptqExportOptions>> kTable = build();
  return kTable;
}

}  // namespace oacim::model
