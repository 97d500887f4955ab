// oacim quantize: RTN, GPTQ or the OA-CIM outlier-aware GPTQ over a whole model, written as a
// quantized model directory that `oacim eval --model DIR` runs, plus a per-layer JSON report.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/cli/table_options.hpp"
#include "oacim/core/error.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/quant/quantize_run.hpp"
#include "oacim/runtime/torch_runtime.hpp"
#include "oacim/version.hpp"


namespace oacim::cli {

int cmd_quantize(const std::vector<std::string>& args) {
  quant::QuantizeRunOptions o;
  o.progress = stderr_progress();
  TableCommand cmd{"quantize", "--model M --method rtn|gptq|oa|discquant [options] --out DIR",
                   "write per-layer statistics to this JSON file"};
  const int parsed = parse_table_command(cmd, quant::quantize_options(), o, args);
  if (parsed >= 0) return parsed;
  const std::string& json_path = cmd.json_path;
  const int threads = cmd.threads;
  quant::resolve(o);
  const std::string method = to_string(o.layer.method);
  configure_torch(threads);

  o.comm = &world();  // under MPI the ranks share windows and Linears; rank 0 writes
  const quant::QuantizeRunResult r = quant::run_quantize(o);
  if (!r.reporting_rank) return kExitOk;
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
                          {"options", quant::quantize_options_json(o)},
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
