// oacim eval: perplexity of a model on a dataset with one backend (float, fakequant, hw), with
// tokens, windows, wall time and tokens/s; the hw backend adds the datapath counters.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/cli/table_options.hpp"
#include "oacim/core/error.hpp"
#include "oacim/eval/eval_options.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/runtime/torch_runtime.hpp"


namespace oacim::cli {

namespace {

// The result file of one evaluation: perplexity, windows, the weights' quantization, the datapath's
// counters and the SystemC checks.
nlohmann::json eval_json(const eval::EvalOptions& o, const eval::EvalResult& r) {
  const bool quantized = o.backend != "float";
  const bool chip = o.backend == "hw" || o.backend == "systemc";
  nlohmann::json doc = {{"command", "eval"},
                        {"model", o.model_path},
                        {"dataset", o.dataset},
                        {"backend", o.backend},
                        {"perplexity", r.perplexity},
                        {"mean_nll", r.mean_nll},
                        {"seqlen", r.seqlen},
                        {"windows", r.windows},
                        {"max_windows", o.max_windows},
                        {"tokens", r.tokens},
                        {"corpus_tokens", r.corpus_tokens},
                        {"seconds", r.seconds},
                        {"tokens_per_second", r.tokens_per_second},
                        {"window_nll", r.window_nll}};
  if (r.unquantized_source) doc["weights"] = "unquantized float source model of the quantized directory";
  if (quantized && r.quantized_model) {
    doc["quantization"] = {{"method", "quantized model directory"},
                           {"outlier_count", r.outlier_count},
                           {"weight_ones", r.weight_ones},
                           {"weight_bits", r.weight_bits}};
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

}  // namespace

int cmd_eval(const std::vector<std::string>& args) {
  eval::EvalOptions o;
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
  const bool quantized = o.backend != "float";
  std::cout << fmt::format("eval: {} on {} ({} tokens), backend {}{}, seqlen {}, {} windows{}\n", o.model_path,
                           o.dataset, r.corpus_tokens, o.backend,
                           quantized && r.quantized_model ? " (the quantized model's packed weights)"
                           : quantized ? fmt::format(" (RTN {}-bit, block {}{}{})", o.quant.grid.bits,
                                                   o.quant.grid.block_size, o.quant.outliers ? ", outliers" : "",
                                                   o.quant.offsets ? ", offsets" : "")
                           : r.unquantized_source ? " (the UNQUANTIZED float source model of the quantized directory)"
                                                  : "",
                           r.seqlen, r.windows, o.max_windows > 0 ? " (limited by --max-windows)" : "");
  std::cout << fmt::format("  perplexity {:.4f}  (mean nll {:.5f} nats/token)  {:.0f} tokens/s{}\n", r.perplexity,
                           r.mean_nll, r.tokens_per_second,
                           world().distributed() ? fmt::format(" on {} MPI ranks", world().size()) : "");
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
