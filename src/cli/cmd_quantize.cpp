// oacim quantize: RTN, GPTQ or the OA-CIM outlier-aware GPTQ over a whole model, written as a
// quantized model directory that `oacim eval --model DIR` runs, plus a per-layer JSON report.
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/core/error.hpp"
#include "oacim/quant/quantize_run.hpp"
#include "oacim/runtime/torch_runtime.hpp"
#include "oacim/version.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

int cmd_quantize(const std::vector<std::string>& args) {
  quant::QuantizeRunOptions o;
  std::string method = "oa", codes = "signed", range = "minmax", offset_sign = "minimise", json_path;
  int threads = 0;
  int max_offset = -1;
  bool per_block_stats = false;
  po::options_description opts("quantize options");
  opts.add_options()
      ("model", po::value(&o.model_path)->required(), "llama2.c checkpoint (.bin) or Hugging Face directory")
      ("tokenizer", po::value(&o.tokenizer_path), "tokenizer override (as for eval)")
      ("method", po::value(&method)->default_value(method), "rtn | gptq | oa | discquant")
      ("wbits", po::value(&o.layer.grid.grid.bits)->default_value(4), "code bits (2..4: one 4-bit CIM cell)")
      ("block-size", po::value(&o.layer.grid.grid.block_size)->default_value(32),
       "columns per scale/zero, OA block and outlier window (multiple of 4; 0 = whole row, rtn/gptq)")
      ("codes", po::value(&codes)->default_value(codes), "signed (two's complement, [-8, 7]) | unsigned ([0, 15])")
      ("range", po::value(&range)->default_value(range),
       "minmax (OA-CIM) | zero-inclusive (GPTQ asym) | zero-symmetric (GPTQ sym)")
      ("mse", po::bool_switch(&o.layer.grid.range.mse), "GPTQ's MSE range search (norm 2.4, grid 100, maxshrink 0.8)")
      ("per-block-stats", po::bool_switch(&per_block_stats), "one scale/zero per block for all rows (default: per row)")
      ("outliers", po::bool_switch(&o.layer.outliers), "one BF16 outlier per row and block in place of its quad (oa, rtn)")
      ("offsets", po::bool_switch(&o.layer.offsets), "per-column offsets that minimise the stored 1 bits (oa, rtn)")
      ("offset-sign", po::value(&offset_sign)->default_value(offset_sign), "minimise | faithful (upstream's inverted sign)")
      ("max-offset", po::value(&max_offset)->default_value(-1),
       "largest |offset| (default 1; 7 with --offset-sign faithful --outliers, as upstream)")
      ("qq-scale-bits", po::value(&o.layer.grid.qq.scale_bits)->default_value(0), "second-level bits of the scales (0 = off)")
      ("qq-zero-bits", po::value(&o.layer.grid.qq.zero_bits)->default_value(0), "second-level bits of the zeros (0 = off)")
      ("qq-zero-sym", po::bool_switch(&o.layer.grid.qq.zero_sym), "symmetric second-level grid for the zeros")
      ("qq-group-size", po::value(&o.layer.grid.qq.group_size)->default_value(16), "rows per second-level group")
      ("percdamp", po::value(&o.layer.percdamp)->default_value(0.01f), "Hessian damping, fraction of mean(diag H)")
      ("act-order", po::bool_switch(&o.layer.act_order), "gptq: columns by descending diag(H)")
      ("static-groups", po::bool_switch(&o.layer.static_groups), "gptq: groups fitted in column order before act-order")
      ("gptq-block", po::value(&o.layer.gptq_block)->default_value(128), "gptq: lazy-update batch in columns")
      ("true-sequential", po::bool_switch(&o.true_sequential), "quantize each block's Linears group by group (docs/algorithms.md 1.1)")
      ("calib", po::value(&o.calib)->default_value(o.calib),
       "calibration: a token file from `oacim calib`, a text file, c4 (train shard in --data-dir), wikitext2 | ptb | ptb-new (evaluation splits: "
       "warns), or self (generated now, as `oacim calib --n NSAMPLES --len SEQLEN --seed SEED` does)")
      ("data-dir", po::value(&o.data_dir), "folder of the named datasets (default: the bundled tests/data/text)")
      ("nsamples", po::value(&o.nsamples)->default_value(128), "calibration windows")
      ("seqlen", po::value(&o.seqlen)->default_value(0), "calibration window length (0: the model's maximum)")
      ("seed", po::value(&o.seed)->default_value(0), "calibration seed")
      ("out", po::value(&o.out_dir)->required(), "output directory (quantized.safetensors)")
      ("threads", po::value(&threads)->default_value(0), "CPU threads (0: all)")
      ("max-blocks", po::value(&o.max_blocks)->default_value(0),
       "quantize at most N more blocks, keep them in DIR/partial/ and stop; rerun to continue (0: all)")
      ("json", po::value(&json_path), "write per-layer statistics to this JSON file")
      ("incoherence", po::value(&o.incoherence)->default_value(o.incoherence),
       "none | hadamard: quantize W~ = Q D W D Q^T, inputs and outputs rotated around the macro (any method)")
      ("incoherence-seed", po::value(&o.incoherence_seed)->default_value(0), "seed of the random signs")
      ("dq-steps", po::value(&o.discquant.steps)->default_value(o.discquant.steps), "discquant: optimizer steps")
      ("dq-warmup", po::value(&o.discquant.warmup)->default_value(o.discquant.warmup), "discquant: linear warm-up steps")
      ("dq-lr", po::value(&o.discquant.lr)->default_value(o.discquant.lr), "discquant: peak learning rate (cosine schedule)")
      ("dq-clamp", po::value(&o.discquant.clamp)->default_value(o.discquant.clamp), "discquant: clamp of rho * dKL/dx")
      ("dq-rho", po::value(&o.discquant.rho)->default_value(o.discquant.rho), "discquant: rho_factor (paper scripts: 200)")
      ("dq-weight-decay", po::value(&o.discquant.weight_decay)->default_value(o.discquant.weight_decay),
       "discquant: AdamW decoupled weight decay (torch's default, kept upstream)")
      ("dq-windows-per-step", po::value(&o.discquant.windows_per_step)->default_value(o.discquant.windows_per_step),
       "discquant: calibration windows per step")
      ("dq-init", po::value(&o.discquant.init)->default_value(o.discquant.init), "discquant: rand | orig")
      ("dq-seed", po::value(&o.discquant.seed)->default_value(o.discquant.seed), "discquant: seed of x and of the window order")
      ("dq-blocks-at-once", po::value(&o.discquant.blocks_at_once)->default_value(0),
       "discquant: train this many consecutive blocks at a time (0: all together)")
      ("dq-log-every", po::value(&o.discquant.log_every)->default_value(o.discquant.log_every), "discquant: progress every N steps")
      ("dq-checkpoint-every", po::value(&o.discquant.checkpoint_every)->default_value(o.discquant.checkpoint_every),
       "discquant: checkpoint the optimisation in DIR/partial/ every N steps (a rerun resumes, same bits)")
      ("dq-stop-after", po::value(&o.discquant.stop_after)->default_value(0),
       "discquant: run at most N more steps, checkpoint and stop; rerun to continue (0: to the end)");
  po::variables_map vm;
  const int parsed = parse_command_line("quantize", "--model M --method rtn|gptq|oa|discquant [options] --out DIR", opts,
                                        po::options_description(), {}, args, vm);
  if (parsed >= 0) return parsed;
  o.layer.method = quant::method_from_string(method, "--method");
  o.layer.grid.grid.kind = code_kind_from_string(codes, "--codes");
  o.layer.grid.range.rule = range_rule_from_string(range, "--range");
  o.layer.grid.per_row = !per_block_stats;
  o.layer.offset_search.sign = offset_sign_from_string(offset_sign, "--offset-sign");
  o.layer.offset_search.max_abs_offset =
      max_offset >= 0 ? max_offset : default_max_abs_offset(o.layer.offset_search.sign, o.layer.outliers);
  configure_torch(threads);

  if (o.max_blocks < 0) throw InvalidArgument("--max-blocks", "must not be negative");
  const quant::QuantizeRunResult r = quant::run_quantize(o);
  if (!r.complete && o.layer.method == quant::Method::DiscQuant) {
    std::cout << fmt::format("quantize: stopped (--dq-stop-after); the optimisation state is in {}; run the same command "
                             "again to continue\n",
                             r.out_file);
    return kExitOk;
  }
  if (!r.complete) {
    std::cout << fmt::format("quantize: stopped after block {}/{} (--max-blocks); finished blocks are in {}; run the same "
                             "command again to continue\n",
                             r.blocks_done, r.blocks, r.out_file);
    return kExitOk;
  }
  std::cout << fmt::format("quantize: {} -> {} ({} Linears, {} {}-bit, block {}{}{}), {} calibration windows of {} "
                           "tokens, {:.1f} s\n",
                           o.model_path, r.out_file, r.layers.size(), method, o.layer.grid.grid.bits,
                           o.layer.grid.grid.block_size, o.layer.outliers ? ", outliers" : "",
                           o.layer.offsets ? ", offsets" : "", r.windows, r.seqlen, r.seconds);
  std::cout << fmt::format("  outliers {}  ones {:.2f} % of stored bits (before offsets "
                           "{:.2f} %)  {:.3f} bits/weight\n",
                           r.outliers, r.stored_bits ? 100.0 * static_cast<double>(r.ones) / static_cast<double>(r.stored_bits) : 0.0,
                           r.stored_bits ? 100.0 * static_cast<double>(r.ones_before_offsets) / static_cast<double>(r.stored_bits) : 0.0,
                           r.bits_per_weight);
  if (o.layer.method == quant::Method::DiscQuant) {
    std::cout << fmt::format("  KL to the float model on the first calibration windows: RTN {:.5f} -> DiscQuant {:.5f} "
                             "nats/token (delta^2 {:.3g})\n",
                             r.discquant_kl_rtn, r.discquant_kl_final, r.discquant_delta2);
  }
  if (o.incoherence != "none") {
    std::cout << fmt::format("  incoherence: {} of {} Linears rotated on both sides; {} side(s) without a Hadamard matrix\n",
                             r.rotated_both, r.layers.size(), r.unrotated_sides.size());
  }
  if (!json_path.empty()) {
    nlohmann::json layers = nlohmann::json::array();
    for (const quant::LayerQuantStats& s : r.layers) layers.push_back(quant::to_json(s, quant::uses_hessian(o.layer.method)));
    nlohmann::json doc = {{"command", "quantize"},
                          {"version", kVersion},
                          {"model", o.model_path},
                          {"out", r.out_file},
                          {"options", nlohmann::json::parse(quant::options_json(o))},
                          {"windows", r.windows},
                          {"seqlen", r.seqlen},
                          {"resumed_blocks", r.resumed_blocks},
                          {"seconds", r.seconds},
                          {"outliers", r.outliers},
                          {"ones", r.ones},
                          {"ones_before_offsets", r.ones_before_offsets},
                          {"stored_bits", r.stored_bits},
                          {"bits_per_weight", r.bits_per_weight},
                          {"layers", layers}};
    if (o.incoherence != "none") doc["incoherence"] = {{"rotated_both", r.rotated_both}, {"unrotated_sides", r.unrotated_sides}};
    if (o.layer.method == quant::Method::DiscQuant) {
      nlohmann::json steps = nlohmann::json::array();
      for (const quant::DiscQuantStep& st : r.discquant_log) {
        steps.push_back({{"step", st.step}, {"lr", st.lr}, {"kl", st.kl}, {"fractional", st.fractional}, {"group", st.group}});
      }
      doc["discquant"] = {{"delta2", r.discquant_delta2},
                          {"kl_rtn", r.discquant_kl_rtn},
                          {"kl_final", r.discquant_kl_final},
                          {"steps", steps}};
    }
    write_json_result(json_path, doc);
  }
  return kExitOk;
}

}  // namespace oacim::cli
