// oacim eval: perplexity of a model on a dataset with one backend (float, fakequant, hw), with
// tokens, windows, wall time and tokens/s; the hw backend adds the datapath counters.
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "oacim/hw/energy.hpp"
#include "oacim/hw/energy_json.hpp"
#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/core/token_values_file.hpp"
#include "oacim/data/task_file.hpp"
#include "oacim/cli/table_options.hpp"
#include "oacim/core/error.hpp"
#include "oacim/eval/eval_options.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/runtime/torch_runtime.hpp"


namespace oacim::cli {

namespace {

nlohmann::json task_json(const eval::TaskScores& t) {
  nlohmann::json j = {{"name", t.name},
                      {"kind", data::to_string(t.kind)},
                      {"documents", t.documents},
                      {"acc", t.acc.mean},
                      {"acc_se", t.acc.se},
                      {"loglikelihood", t.loglikelihood},
                      {"correct", t.correct}};
  if (t.kind == data::TaskKind::MultipleChoice) {
    j["acc_norm"] = t.acc_norm.mean;
    j["acc_norm_se"] = t.acc_norm.se;
  } else {
    j["perplexity"] = t.perplexity;
  }
  return j;
}

// The perplexity side of a result: windows, losses, and the comparison with the float model.
void add_perplexity_json(const eval::EvalOptions& o, const eval::EvalResult& r, nlohmann::json& doc) {
  doc.update({{"dataset", o.dataset},
              {"perplexity", r.perplexity},
              {"mean_nll", r.mean_nll},
              {"seqlen", r.seqlen},
              {"windows", r.windows},
              {"max_windows", o.max_windows},
              {"tokens", r.tokens},
              {"corpus_tokens", r.corpus_tokens},
              {"tokens_per_second", r.tokens_per_second},
              {"perplexity_se", r.perplexity_se},
              {"window_nll", r.window_nll}});
  if (r.compared_with_float) {
    const eval::TokenComparison& c = r.vs_float;
    doc["vs_float"] = {{"basis", c.basis},
                       {"tokens", c.tokens},
                       {"reference_file", r.float_reference_file},
                       {"reference", r.float_reference_status},
                       {"kld_mean", c.kld.mean},
                       {"kld_se", c.kld.se},
                       {"kld_median", c.kld_median},
                       {"kld_p99", c.kld_p99},
                       {"kld_max", c.kld_max},
                       {"top1_agreement_pct", 100.0 * c.top1_agreement.mean},
                       {"top1_agreement_se_pct", 100.0 * c.top1_agreement.se},
                       {"delta_p_mean", c.delta_p.mean},
                       {"delta_p_se", c.delta_p.se},
                       {"delta_p_rms", c.delta_p_rms},
                       {"nll_diff_mean", c.vs_float.difference.mean},
                       {"nll_diff_se", c.vs_float.difference.se},
                       {"ppl_pct", c.vs_float.ppl_pct},
                       {"ppl_pct_ci95", {c.vs_float.ppl_pct_low, c.vs_float.ppl_pct_high}}};
  }
  if (!o.token_nll_file.empty()) doc["token_nll_file"] = o.token_nll_file;
  if (!r.checkpoint_file.empty()) doc["checkpoint"] = {{"file", r.checkpoint_file}, {"resumed_windows", r.resumed_windows}};
}

// The result file of one evaluation: perplexity (or a task's scores), the weights' quantization,
// the datapath's counters and the SystemC checks.
nlohmann::json eval_json(const eval::EvalOptions& o, const eval::EvalResult& r) {
  const bool quantized = o.backend != "float";
  const bool chip = o.backend == "hw" || o.backend == "systemc";
  nlohmann::json doc = {{"command", "eval"}, {"model", o.model_path}, {"backend", o.backend}, {"seconds", r.seconds}};
  if (r.task_run) {
    doc["task"] = task_json(r.task);
  } else {
    add_perplexity_json(o, r, doc);
  }
  if (r.unquantized_source) doc["weights"] = "unquantized float source model of the quantized directory";
  if (quantized && r.quantized_model) {
    doc["quantization"] = {{"method", "quantized model directory"},
                           {"outlier_count", r.outlier_count},
                           {"weight_ones", r.weight_ones},
                           {"weight_bits", r.weight_bits}};
  } else if (quantized && r.file_packed_linears > 0) {
    doc["quantization"] = {{"method", "the checkpoint's own codes"},
                           {"linears_from_file", r.file_packed_linears},
                           {"max_abs_error_vs_file", r.file_packed_max_abs_error},
                           {"requantized_linears", r.requantized_linears},
                           {"outlier_count", r.outlier_count},
                           {"weight_ones", r.weight_ones},
                           {"weight_bits", r.weight_bits}};
    if (r.requantized_linears > 0) doc["quantization"]["requantized_with"] = {{"method", "rtn"}, {"bits", o.quant.grid.bits},
                                                                              {"block_size", o.quant.grid.block_size}};
    if (chip) {
      doc["quantization"]["chip_formats"] = {{"scales", r.file_scales},
                                             {"scales_rounded_by_scale_format", r.file_scales_rounded},
                                             {"zeros_rounded_by_zero_format", r.file_zeros_rounded}};
    }
  } else if (quantized) {
    doc["quantization"] = {{"method", "rtn"},
                           {"bits", o.quant.grid.bits},
                           {"block_size", o.quant.grid.block_size},
                           {"outliers", o.quant.outliers},
                           {"offsets", o.quant.offsets},
                           {"outlier_count", r.outlier_count},
                           {"weight_ones", r.weight_ones},
                           {"weight_bits", r.weight_bits}};
  }
  if (chip) {
    doc["hw_config"] = {{"name", o.hw.name}, {"knobs", hw::to_key_values(o.hw)}};
    doc["hw_counters"] = counters_json(r.hw_counters);
    doc["energy"] = hw::energy_json(r.hw_counters, o.hw.energy, r.model_tokens());
    doc["latency"] = hw::latency_json(r.hw_counters, o.hw.clock_mhz, r.model_tokens());
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& [name, c] : r.hw_layers) layers.push_back({{"layer", name}, {"counters", counters_json(c)}});
    doc["hw_layers"] = layers;
  }
  if (o.backend == "systemc") {
    nlohmann::json checks = nlohmann::json::array();
    for (const sim::SampledLayerCheck& c : r.systemc_checks) {
      checks.push_back({{"layer", c.layer},
                        {"rows", c.rows},
                        {"cols", c.cols},
                        {"tokens", c.tokens},
                        {"accepted", c.ok},
                        {"error", c.error},
                        {"bit_exact", c.bit_exact()},
                        {"outputs", c.comparison.outputs},
                        {"mismatches", c.comparison.mismatches},
                        {"max_ulp", c.comparison.max_ulp},
                        {"counters_equal", c.comparison.counters_equal},
                        {"load_cycles", c.load_cycles},
                        {"compute_cycles", c.compute_cycles},
                        {"readback_cycles", c.readback_cycles},
                        {"simulated_ns", c.simulated_ns},
                        {"wall_seconds", c.wall_seconds}});
    }
    doc["systemc"] = {{"bit_exact", r.systemc_bit_exact()}, {"layers", checks}};
  }
  return doc;
}

// A zero-shot task's outcome: printed, and as JSON with the run's settings and counters.
int report_task(const eval::EvalOptions& o, const eval::EvalResult& r, const std::string& json_path) {
  const eval::TaskScores& t = r.task;
  std::cout << fmt::format("eval: {} on task {} ({} {} documents), backend {}\n", o.model_path, t.name, t.documents,
                           data::to_string(t.kind), o.backend)
            << fmt::format("  acc {:.4f} +/- {:.4f}", t.acc.mean, t.acc.se)
            << (t.kind == data::TaskKind::MultipleChoice
                    ? fmt::format("  acc_norm {:.4f} +/- {:.4f}\n", t.acc_norm.mean, t.acc_norm.se)
                    : fmt::format("  perplexity {:.4f}\n", t.perplexity));
  if (!json_path.empty()) write_json_result(json_path, eval_json(o, r));
  return kExitOk;
}

}  // namespace

int cmd_eval(const std::vector<std::string>& args) {
  eval::EvalOptions o;
  o.progress = stderr_progress();
  TableCommand cmd{"eval", "--model M.bin --dataset NAME_OR_FILE [--backend B] [--json OUT]",
                   "write the result to this JSON file"};
  const int parsed = parse_table_command(cmd, eval::eval_options(), o, args);
  if (parsed >= 0) return parsed;
  const std::string& json_path = cmd.json_path;
  const int threads = cmd.threads;
  const auto& vm = cmd.vm;
  eval::resolve_backend(o);
  const bool chip = o.backend == "hw" || o.backend == "systemc";
  if (!o.hw_file.empty() && !chip) throw InvalidArgument("--hw", "only with --backend hw or systemc");
  if ((option_given(vm, eval::eval_options(), "systemc_layers") || option_given(vm, eval::eval_options(), "systemc_tokens")) &&
      o.backend != "systemc") {
    throw InvalidArgument("--systemc-layers", "only with --backend systemc");
  }
  if (!o.hw_file.empty()) o.hw = hw::load_hw_config(o.hw_file);
  configure_torch(threads);

  o.comm = &world();  // under MPI the ranks share the windows; rank 0 reports
  const eval::EvalResult r = eval::run_eval(o);
  if (!r.reporting_rank) return kExitOk;
  if (r.task_run) return report_task(o, r, json_path);
  const bool quantized = o.backend != "float";
  std::cout << fmt::format("eval: {} on {} ({} tokens), backend {}{}, seqlen {}, {} windows{}\n", o.model_path,
                           o.dataset, r.corpus_tokens, o.backend,
                           quantized && r.quantized_model ? " (the quantized model's packed weights)"
                           : quantized && r.file_packed_linears > 0
                               ? fmt::format(" (the checkpoint's own codes in {} Linears{})", r.file_packed_linears,
                                             r.requantized_linears > 0 ? fmt::format(", {} requantized with RTN", r.requantized_linears) : "")
                           : quantized ? fmt::format(" (RTN {}-bit, block {}{}{})", o.quant.grid.bits,
                                                   o.quant.grid.block_size, o.quant.outliers ? ", outliers" : "",
                                                   o.quant.offsets ? ", offsets" : "")
                           : r.unquantized_source ? " (the UNQUANTIZED float source model of the quantized directory)"
                                                  : "",
                           r.seqlen, r.windows, o.max_windows > 0 ? " (limited by --max-windows)" : "");
  std::cout << fmt::format("  perplexity {:.4f} +/- {:.4f}  (mean nll {:.5f} nats/token)  {:.0f} tokens/s{}{}\n",
                           r.perplexity, r.perplexity_se, r.mean_nll, r.tokens_per_second,
                           world().distributed() ? fmt::format(" on {} MPI ranks", world().size()) : "",
                           r.resumed_windows > 0 ? fmt::format(" ({} windows resumed from {})", r.resumed_windows, r.checkpoint_file) : "");
  if (quantized && r.file_packed_linears > 0) {
    std::cout << fmt::format("  checkpoint codes on the cells: max |chip value - file value| {:.3g}{}\n", r.file_packed_max_abs_error,
                             chip ? fmt::format("; the chip's {} scale format rounds {} of {} scales, its {} zero format {} zeros",
                                                hw::to_string(o.hw.scale_format), r.file_scales_rounded, r.file_scales,
                                                hw::to_string(o.hw.zero_format), r.file_zeros_rounded)
                                  : "");
  }
  if (r.compared_with_float) {
    const eval::TokenComparison& c = r.vs_float;
    std::cout << fmt::format("  vs float ({}, {} tokens; reference {}):\n", c.basis, c.tokens, r.float_reference_status)
              << fmt::format("    mean KLD {:.6f} +/- {:.6f}  median {:.6f}  p99 {:.6f}  max {:.6f}\n", c.kld.mean, c.kld.se,
                             c.kld_median, c.kld_p99, c.kld_max)
              << fmt::format("    top-1 agreement {:.3f} +/- {:.3f} %  RMS delta-p {:.4f} %\n", 100.0 * c.top1_agreement.mean,
                             100.0 * c.top1_agreement.se, 100.0 * c.delta_p_rms)
              << fmt::format("    perplexity vs float {:+.3f} % (95 % CI {:+.3f} .. {:+.3f} %)\n", c.vs_float.ppl_pct,
                             c.vs_float.ppl_pct_low, c.vs_float.ppl_pct_high);
  }
  if (chip && r.hw_counters.tokens > 0) {
    const hw::EnergyBreakdown e = hw::energy_of(r.hw_counters, o.hw.energy, r.model_tokens());
    const double us = static_cast<double>(r.hw_counters.cycles) / o.hw.clock_mhz;
    const double tokens = static_cast<double>(r.model_tokens());
    std::cout << fmt::format("  chip: {:.1f} cycles/token, {:.0f} tokens/s at {} MHz; energy {:.4g} nJ/token{}, {:.3g} TOPS/W{}\n",
                             static_cast<double>(r.hw_counters.cycles) / tokens, us > 0 ? tokens / (us * 1e-6) : 0.0,
                             o.hw.clock_mhz,
                             e.pj_per_token() / 1e3, e.complete() ? "" : " (lower bound)", e.tops_per_watt(),
                             e.complete() ? "" : fmt::format(" (upper bound; not configured: {})", fmt::join(e.not_configured, ", ")));
  }
  if (!o.token_nll_file.empty()) {
    write_token_values(o.token_nll_file, {r.token_nll, {{"oacim.model", o.model_path}, {"oacim.dataset", o.dataset},
                                                        {"oacim.backend", o.backend}, {"oacim.seqlen", std::to_string(r.seqlen)},
                                                        {"oacim.windows", std::to_string(r.windows)}}});
  }
  if (!json_path.empty()) write_json_result(json_path, eval_json(o, r));
  if (o.backend == "systemc") {
    for (const sim::SampledLayerCheck& c : r.systemc_checks) {
      std::cout << fmt::format("  systemc {:<32} {}x{}, {} tokens: {}{}\n", c.layer, c.rows, c.cols, c.tokens,
                               !c.ok ? "REJECTED (" + c.error + ")"
                               : c.bit_exact() ? "BIT-EXACT"
                                               : fmt::format("MISMATCH ({} of {} outputs, max {} ulp, counters {})",
                                                             c.comparison.mismatches, c.comparison.outputs,
                                                             c.comparison.max_ulp,
                                                             c.comparison.counters_equal ? "equal" : "differ"),
                               c.ok ? fmt::format(", {} compute cycles", c.compute_cycles) : "");
    }
    if (!r.systemc_bit_exact()) {
      print_error("eval", "SystemC and the hw model disagree on a sampled layer (see above)");
      return kExitFailure;
    }
  }
  return kExitOk;
}

}  // namespace oacim::cli
