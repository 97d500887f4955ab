#include "oacim/eval/eval_options.hpp"

#include "oacim/model/model_options.hpp"

namespace oacim::eval {

namespace {

using K = OptionKind;
using T = EvalOptions;

bool chip(const OptionLookup& v) { return v("backend") == "hw" || v("backend") == "systemc"; }
bool systemc(const OptionLookup& v) { return v("backend") == "systemc"; }

std::vector<Option<T>> build() {
  return {
      bind<T>(option("model_path", K::Path)
                  .required()
                  .cli("model")
                  .reads_key("model")
                  .doc("llama2.c checkpoint (.bin), Hugging Face directory, or an `oacim quantize` output directory"),
              [](auto& o) -> auto& { return o.model_path; }),
      bind<T>(model::tokenizer_spec(), [](auto& o) -> auto& { return o.tokenizer_path; }),
      bind<T>(option("dataset", K::String)
                  .cli("dataset")
                  .doc("wikitext2 | ptb | ptb-new | c4 | c4-new (files in the data directory) | a text file (or --task)"),
              [](auto& o) -> auto& { return o.dataset; }),
      bind<T>(option("task", K::Path).cli("task")
                  .doc("instead of --dataset: a zero-shot task file (JSON lines: multiple choice or last word, "
                       "docs/models.md) scored by log-likelihood as lm-evaluation-harness does"),
              [](auto& o) -> auto& { return o.task_file; }),
      bind<T>(model::data_dir_spec(), [](auto& o) -> auto& { return o.data_dir; }),
      bind<T>(option("seqlen", K::Int, "0").range(0, 1 << 20).unit("tokens").cli("seqlen").key("eval.seqlen")
                  .doc("perplexity window in tokens (0: the model's maximum)"),
              [](auto& o) -> auto& { return o.seqlen; }),
      bind<T>(option("max_windows", K::Int, "0").range(0, 1 << 30).cli("max-windows").key("eval.max_windows")
                  .doc("evaluate the first N windows of each dataset (0: all)"),
              [](auto& o) -> auto& { return o.max_windows; }),
      bind<T>(option("backend", K::Choice, "auto").choices({"auto", "float", "fakequant", "hw", "systemc"}).cli("backend")
                  .doc("float | fakequant | hw | systemc (hw values; sampled layers co-simulated and checked bit for bit) | "
                       "auto: fakequant for a quantized directory, float for a float model"),
              [](auto& o) -> auto& { return o.backend; }),
      bind<T>(option("hw", K::Path).cli("hw").when(chip)
                  .doc("hardware config for backend hw or systemc (default: built-in defaults)"),
              [](auto& o) -> auto& { return o.hw_file; }),
      bind<T>(option("systemc_layers", K::StringList, "")
                  .cli("systemc-layers")
                  .key("systemc.layers")
                  .when(systemc)
                  .doc("Linears co-simulated in SystemC (default: every Linear of block 0)"),
              [](auto& o) -> auto& { return o.systemc_layers; }),
      bind<T>(option("systemc_tokens", K::Int, "8").range(1, 1 << 16).cli("systemc-tokens").key("systemc.tokens").when(systemc)
                  .doc("input rows co-simulated per sampled layer"),
              [](auto& o) -> auto& { return o.systemc_tokens; }),
      bind<T>(option("float_reference", K::String, "").cli("float-reference")
                  .doc("directory caching the float model's distributions on the evaluated windows; compare every "
                       "predicted token with them: KL divergence, top-1 agreement, change of the correct token's "
                       "probability, loss difference with a 95 % interval (\"\": no comparison)"),
              [](auto& o) -> auto& { return o.float_reference_dir; }),
      bind<T>(option("float_reference_full_mib", K::Int, "256").range(0, 1 << 20).unit("MiB").cli("float-reference-full-mib")
                  .when([](const OptionLookup& v) { return !v("float_reference").empty(); })
                  .doc("store the float model's whole distribution while it fits this size, else its top-32 tokens "
                       "and the rest's mass (a lower bound of the KL divergence)"),
              [](auto& o) -> auto& { return o.float_reference_full_mib; }),
      bind<T>(option("stream_blocks_mib", K::Int, "0").range(0, 1 << 20).unit("MiB").cli("stream-blocks-mib")
                  .key("eval.stream_blocks_mib")
                  .doc("evaluate block by block: every window of a chunk through one block, then the next, so only "
                       "one block's weights are held (in the form the backend reads) plus at most N MiB of hidden "
                       "states; the same bits as window by window (0), which holds the whole model"),
              [](auto& o) -> auto& { return o.stream_blocks_mib; }),
      bind<T>(option("checkpoint", K::String, "").cli("checkpoint").key("eval.checkpoint")
                  .doc("append every finished window (loss, token statistics, chip counters) to this file; a run that "
                       "finds it resumes after its last whole window, with the bits of an unbroken run "
                       "(another evaluation's file is refused; per rank FILE.rank<r>of<n>; \"\": none)"),
              [](auto& o) -> auto& { return o.checkpoint_file; }),
      bind<T>(option("token_nll", K::String, "").cli("token-nll")
                  .doc("write the loss of every predicted token, in window order, to this file (safetensors, "
                       "oacim-token-values/1)"),
              [](auto& o) -> auto& { return o.token_nll_file; }),
      bind<T>(option("requantize", K::Choice, "none").choices({"none", "rtn"}).cli("requantize")
                  .doc("a quantized checkpoint's Linears of a type no 4-bit cell holds (GGUF Q8_0, Q5/Q6 types) under "
                       "a quantized backend: none refuses them, rtn requantizes them with the RTN options below; "
                       "Q4_0/Q4_1/Q4_K Linears always run the file's own codes"),
              [](auto& o) -> auto& { return o.requantize; }),
      bind<T>(option("wbits", K::Int, "4").range(2, 4).unit("bits").cli("wbits")
                  .doc("code bits of the RTN weights (ignored by backend float and by quantized models)"),
              [](auto& o) -> auto& { return o.quant.grid.bits; }),
      bind<T>(option("block_size", K::Int, "32").range(4, 1 << 20).unit("columns").cli("block-size")
                  .doc("columns per scale/zero and outlier of the RTN weights"),
              [](auto& o) -> auto& { return o.quant.grid.block_size; }),
      bind<T>(option("outliers", K::Bool, "false").cli("outliers").doc("keep one BF16 outlier per row and block (RTN weights)"),
              [](auto& o) -> auto& { return o.quant.outliers; }),
      bind<T>(option("offsets", K::Bool, "false").cli("offsets").doc("per-column offsets that minimise stored ones (RTN weights)"),
              [](auto& o) -> auto& { return o.quant.offsets; }),
  };
}

}  // namespace

const std::vector<Option<EvalOptions>>& eval_options() {
  static const std::vector<Option<EvalOptions>> kTable = build();
  return kTable;
}

}  // namespace oacim::eval
