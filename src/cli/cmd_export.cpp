// oacim export: a quantized model directory as a GPTQ checkpoint that GPU tools load
// (docs/models.md "GPTQ checkpoints").
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/cli/table_options.hpp"
#include "oacim/model/gptq_export.hpp"
#include "oacim/runtime/torch_runtime.hpp"

namespace oacim::cli {

int cmd_export(const std::vector<std::string>& args) {
  model::GptqExportOptions o;
  o.progress = stderr_progress();
  TableCommand cmd{"export", "--quantized DIR --out GPTQ_DIR [--checkpoint-format gptq|gptq_v2]",
                   "write what was exported to this JSON file"};
  const int parsed = parse_table_command(cmd, model::gptq_export_options(), o, args);
  if (parsed >= 0) return parsed;
  configure_torch(cmd.threads);
  const model::GptqExportResult r = model::export_gptq(o);
  std::cout << fmt::format("export: {} -> {} (GPTQ, {}): {} Linears, {}-bit, group_size {}, {}{}; scales rounded to fp16 "
                           "(largest relative change {:.3g}); {} other tensors taken from the quantized directory\n",
                           o.quantized_dir, o.out_dir, o.checkpoint_format, r.linears, r.bits, r.group_size,
                           r.sym ? "sym" : "asym", r.desc_act ? ", desc_act" : "", r.max_scale_change, r.tensors_changed);
  if (!cmd.json_path.empty()) {
    write_json_result(cmd.json_path, {{"command", "export"},
                                      {"quantized", o.quantized_dir},
                                      {"out", o.out_dir},
                                      {"checkpoint_format", o.checkpoint_format},
                                      {"linears", r.linears},
                                      {"bits", r.bits},
                                      {"group_size", r.group_size},
                                      {"sym", r.sym},
                                      {"desc_act", r.desc_act},
                                      {"max_scale_change", r.max_scale_change},
                                      {"tensors_changed", r.tensors_changed}});
  }
  return kExitOk;
}

}  // namespace oacim::cli
