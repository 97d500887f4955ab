#include "oacim/quant/quantize_options.hpp"

#include "oacim/model/calibration_options.hpp"
#include "oacim/model/model_options.hpp"

namespace oacim::quant {

namespace {

using K = OptionKind;
using T = QuantizeRunOptions;

bool calibrates(const OptionLookup& v) {
  return needs_calibration(enum_value(method_names(), v("method"), "method"));
}
bool discquant(const OptionLookup& v) { return v("method") == "discquant"; }

OptionBuilder q(std::string name, K kind, std::string def, std::string cli, std::string doc) {
  OptionBuilder b = option(name, kind, std::move(def));
  b.cli(std::move(cli)).key("quantization." + name).json(name).doc(std::move(doc));
  return b;
}
OptionBuilder dq(std::string name, K kind, std::string def, std::string doc) {
  std::string cli = "dq-" + name;
  for (char& c : cli) {
    if (c == '_') c = '-';
  }
  OptionBuilder b = option("dq_" + name, kind, std::move(def));
  b.cli(std::move(cli)).key("discquant." + name).json("discquant." + name).when(discquant).doc("discquant: " + std::move(doc));
  return b;
}
// An option of the command line only: not in experiment files, not in the options JSON.
OptionSpec cli_only(OptionSpec s) {
  s.key.clear();
  s.json.clear();
  s.when = nullptr;
  return s;
}

std::vector<Option<T>> build() {
  auto needs_calib = [](OptionSpec s) {
    s.when = calibrates;
    return s;
  };
  std::vector<Option<T>> t = {
      bind<T>(model::model_path_spec(), [](auto& o) -> auto& { return o.model_path; }),
      bind<T>(model::tokenizer_spec(), [](auto& o) -> auto& { return o.tokenizer_path; }),
      bind_enum<T>(q("method", K::Choice, "oa", "method",
                     "rtn | gptq | oa (OA-CIM outlier-aware GPTQ) | discquant (rounding learned by distillation)"),
                   method_names(), [](auto& o) -> auto& { return o.layer.method; }),
      bind<T>(q("wbits", K::Int, "4", "wbits", "code bits (2..4: one 4-bit CIM cell)").range(2, 4).unit("bits"),
              [](auto& o) -> auto& { return o.layer.grid.grid.bits; }),
      bind<T>(q("block_size", K::Int, "32", "block-size",
                "columns per scale/zero, OA block and outlier window (multiple of 4; at most hardware macro.rows; "
                "0 = one block per row, rtn and gptq only)")
                  .range(0, 1 << 20)
                  .unit("columns"),
              [](auto& o) -> auto& { return o.layer.grid.grid.block_size; }),
      bind_custom<T>(q("codes", K::Choice, "signed", "codes", "two's complement [-8, 7] or unsigned [0, 15]")
                         .choices({"signed", "unsigned"}),
                     [](T& o, const std::string& v) { o.layer.grid.grid.kind = code_kind_from_string(v, "codes"); },
                     [](const T& o) { return to_string(o.layer.grid.grid.kind); }),
      bind_custom<T>(q("range", K::Choice, "minmax", "range",
                       "range rule of the grid: minmax (OA-CIM) | zero-inclusive (GPTQ asym) | zero-symmetric (GPTQ sym)")
                         .choices({"minmax", "zero-inclusive", "zero-symmetric"}),
                     [](T& o, const std::string& v) { o.layer.grid.range.rule = range_rule_from_string(v, "range"); },
                     [](const T& o) { return to_string(o.layer.grid.range.rule); }),
      bind<T>(q("mse", K::Bool, "false", "mse", "GPTQ's MSE range search (norm 2.4, grid 100, maxshrink 0.8)"),
              [](auto& o) -> auto& { return o.layer.grid.range.mse; }),
      bind_custom<T>(q("per_block_stats", K::Bool, "false", "per-block-stats",
                       "one scale/zero per block for all rows (default: per row)")
                         .json("per_row_stats"),
                     [](T& o, const std::string& v) { o.layer.grid.per_row = v != "true"; },
                     [](const T& o) { return std::string(o.layer.grid.per_row ? "false" : "true"); },
                     [](const T& o) { return nlohmann::json(o.layer.grid.per_row); }),
      bind<T>(q("outliers", K::Bool, "false", "outliers", "one BF16 outlier per row and block in place of its quad (oa, rtn)"),
              [](auto& o) -> auto& { return o.layer.outliers; }),
      bind<T>(q("offsets", K::Bool, "false", "offsets", "per-column offsets that minimise the stored 1 bits (oa, rtn)"),
              [](auto& o) -> auto& { return o.layer.offsets; }),
      bind_custom<T>(q("offset_sign", K::Choice, "minimise", "offset-sign",
                       "offset sign: minimise, or upstream's inverted sign (faithful)")
                         .choices({"minimise", "faithful"}),
                     [](T& o, const std::string& v) { o.layer.offset_search.sign = offset_sign_from_string(v, "offset_sign"); },
                     [](const T& o) { return to_string(o.layer.offset_search.sign); }),
      bind<T>(q("offsets_in_cell", K::Bool, "false", "offsets-in-cell",
                "lossless offsets for codes narrower than the 4-bit cell: the cell holds q + o in its own range, so no "
                "offset clips a code (packed format version 3); 2- and 3-bit codes only"),
              [](auto& o) -> auto& { return o.layer.grid.grid.offsets_in_cell; }),
      bind<T>(q("offset_lambda", K::Number, "0", "offset-lambda",
                "error-aware offsets: per column the offset minimising ones + lambda x (increase of the Hessian-weighted "
                "output error, in units of the layer's mean error per cell); 0: fewest ones (minimise only)")
                  .range(0, 1e12),
              [](auto& o) -> auto& { return o.layer.offset_search.error_weight; }),
      bind_custom<T>(option("max_abs_offset", K::Int, "-1")
                         .range(-1, 15)
                         .cli("max-offset")
                         .key("quantization.max_offset")
                         .json("max_offset")
                         .doc("largest |offset| (-1: 1, or 7 with offset_sign faithful and outliers, as upstream)"),
                     [](T& o, const std::string& v) { o.max_offset = parse_option_int(v); },
                     [](const T& o) { return std::to_string(o.max_offset); },
                     [](const T& o) {
                       return nlohmann::json(o.max_offset >= 0 ? o.max_offset : o.layer.offset_search.max_abs_offset);
                     }),
      bind<T>(q("qq_scale_bits", K::Int, "0", "qq-scale-bits", "second-level bits of the scales (0: off)").range(0, 16).unit("bits"),
              [](auto& o) -> auto& { return o.layer.grid.qq.scale_bits; }),
      bind<T>(q("qq_zero_bits", K::Int, "0", "qq-zero-bits", "second-level bits of the zeros (0: off)").range(0, 16).unit("bits"),
              [](auto& o) -> auto& { return o.layer.grid.qq.zero_bits; }),
      bind<T>(q("qq_zero_sym", K::Bool, "false", "qq-zero-sym", "symmetric second-level grid for the zeros"),
              [](auto& o) -> auto& { return o.layer.grid.qq.zero_sym; }),
      bind<T>(q("qq_group_size", K::Int, "16", "qq-group-size", "rows per second-level group").range(1, 1 << 20).unit("rows"),
              [](auto& o) -> auto& { return o.layer.grid.qq.group_size; }),
      bind<T>(q("percdamp", K::Number, "0.01", "percdamp", "Hessian damping, fraction of mean(diag H)").range(0, 1),
              [](auto& o) -> auto& { return o.layer.percdamp; }),
      bind<T>(q("act_order", K::Bool, "false", "act-order", "gptq: columns by descending diag(H)"),
              [](auto& o) -> auto& { return o.layer.act_order; }),
      bind<T>(q("static_groups", K::Bool, "false", "static-groups", "gptq: groups fitted in column order before act-order"),
              [](auto& o) -> auto& { return o.layer.static_groups; }),
      bind<T>(q("gptq_block", K::Int, "128", "gptq-block", "gptq: lazy-update batch in columns").range(1, 1 << 20).unit("columns"),
              [](auto& o) -> auto& { return o.layer.gptq_block; }),
      bind<T>(q("true_sequential", K::Bool, "false", "true-sequential",
                "quantize each block's Linears group by group (docs/algorithms.md 1.1)"),
              [](auto& o) -> auto& { return o.true_sequential; }),
      bind<T>(option("calib", K::String, "self")
                  .cli("calib")
                  .key("calibration.source")
                  .json("calib")
                  .when(calibrates)
                  .doc("calibration: self (the model writes its own text, as `oacim calib` does) | a token file from "
                       "`oacim calib` | a text file | c4 (train shard in the data directory) | wikitext2 | ptb | "
                       "ptb-new (evaluation splits: warns)"),
              [](auto& o) -> auto& { return o.calib; }),
      bind<T>(needs_calib(model::data_dir_spec()), [](auto& o) -> auto& { return o.data_dir; }),
      bind<T>(needs_calib(model::calibration_nsamples_spec()), [](auto& o) -> auto& { return o.nsamples; }),
      bind<T>(needs_calib(model::calibration_seqlen_spec()), [](auto& o) -> auto& { return o.seqlen; }),
      bind<T>(needs_calib(model::calibration_seed_spec()), [](auto& o) -> auto& { return o.seed; }),
      bind<T>(option("out_dir", K::Path).required().cli("out").doc("output directory (quantized.safetensors)"),
              [](auto& o) -> auto& { return o.out_dir; }),
      bind<T>(option("max_blocks", K::Int, "0")
                  .range(0, 1 << 30)
                  .cli("max-blocks")
                  .doc("quantize at most N more blocks, keep them in DIR/partial/ and stop; rerun to continue (0: all)"),
              [](auto& o) -> auto& { return o.max_blocks; }),
      bind<T>(q("incoherence", K::Choice, "none", "incoherence",
                "random Hadamard incoherence: the macro stores W~ = Q D W D Q^T, inputs and outputs rotated around "
                "it (any method)")
                  .choices({"none", "hadamard"}),
              [](auto& o) -> auto& { return o.incoherence; }),
      bind<T>(q("incoherence_seed", K::Int, "0", "incoherence-seed", "seed of the incoherence signs")
                  .range(0, 4294967295.0)
                  .when([](const OptionLookup& v) { return v("incoherence") != "none"; }),
              [](auto& o) -> auto& { return o.incoherence_seed; }),
      bind<T>(q("keep_file_codes", K::Bool, "false", "keep-file-codes",
                "a quantized checkpoint (GGUF Q4_0/Q4_1/Q4_K, GPTQ) keeps its own codes; only its other Linears "
                "(GGUF Q8_0/Q5/Q6, F16) are quantized with the method"),
              [](auto& o) -> auto& { return o.keep_file_codes; }),
      bind<T>(dq("steps", K::Int, "1024", "optimizer steps").range(1, 1 << 24), [](auto& o) -> auto& { return o.discquant.steps; }),
      bind<T>(dq("warmup", K::Int, "128", "linear warm-up steps (fewer than steps)").range(0, 1 << 24),
              [](auto& o) -> auto& { return o.discquant.warmup; }),
      bind<T>(dq("lr", K::Number, "0.01", "peak learning rate of the cosine schedule").range(1e-9, 10),
              [](auto& o) -> auto& { return o.discquant.lr; }),
      bind<T>(dq("clamp", K::Number, "0.1", "clamp of rho * dKL/dx").range(1e-9, 1e6), [](auto& o) -> auto& { return o.discquant.clamp; }),
      bind<T>(dq("rho", K::Number, "10", "rho_factor (the paper's scripts: 200)").range(1e-9, 1e9),
              [](auto& o) -> auto& { return o.discquant.rho; }),
      bind<T>(dq("weight_decay", K::Number, "0.01", "AdamW decoupled weight decay (torch's default, kept upstream)").range(0, 1e3),
              [](auto& o) -> auto& { return o.discquant.weight_decay; }),
      bind<T>(dq("windows_per_step", K::Int, "1", "calibration windows per step").range(1, 1 << 16),
              [](auto& o) -> auto& { return o.discquant.windows_per_step; }),
      bind<T>(dq("init", K::Choice, "rand", "initial x, uniform random or the float weights").choices({"rand", "orig"}),
              [](auto& o) -> auto& { return o.discquant.init; }),
      bind<T>(dq("seed", K::Int, "42", "seed of x and of the window order").range(0, 4294967295.0),
              [](auto& o) -> auto& { return o.discquant.seed; }),
      bind<T>(dq("blocks_at_once", K::Int, "0", "train this many consecutive blocks at a time (0: all together)").range(0, 1 << 20),
              [](auto& o) -> auto& { return o.discquant.blocks_at_once; }),
      bind<T>(cli_only(dq("log_every", K::Int, "32", "progress every N steps").range(1, 1 << 30)),
              [](auto& o) -> auto& { return o.discquant.log_every; }),
      bind<T>(cli_only(dq("checkpoint_every", K::Int, "64",
                          "checkpoint the optimisation in DIR/partial/ every N steps (a rerun resumes, same bits)")
                           .range(1, 1 << 30)),
              [](auto& o) -> auto& { return o.discquant.checkpoint_every; }),
      bind<T>(cli_only(dq("stop_after", K::Int, "0", "run at most N more steps, checkpoint and stop; rerun to continue (0: to the end)")
                           .range(0, 1 << 30)),
              [](auto& o) -> auto& { return o.discquant.stop_after; }),
  };
  return t;
}

}  // namespace

const std::vector<Option<QuantizeRunOptions>>& quantize_options() {
  static const std::vector<Option<QuantizeRunOptions>> kTable = build();
  return kTable;
}

void resolve(QuantizeRunOptions& o) {
  o.layer.offset_search.max_abs_offset =
      o.max_offset >= 0 ? o.max_offset : default_max_abs_offset(o.layer.offset_search.sign, o.layer.outliers);
}

nlohmann::json quantize_options_json(const QuantizeRunOptions& o) { return options_to_json(quantize_options(), o); }

}  // namespace oacim::quant
