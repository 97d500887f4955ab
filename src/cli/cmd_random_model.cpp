// oacim random-model: a Hugging Face directory of seeded random weights at a real model's shape,
// for timing and memory at scale (docs/performance.md "At 1B parameters").
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/cli/table_options.hpp"
#include "oacim/model/random_checkpoint.hpp"

namespace oacim::cli {

int cmd_random_model(const std::vector<std::string>& args) {
  model::RandomCheckpointOptions o;
  o.progress = stderr_progress();
  TableCommand cmd{"random-model", "--preset tinyllama-1.1b|opt-125m|opt-1.3b --tokenizer FILE[,FILE] --out DIR [--dtype f16]",
                   "write what was written to this JSON file"};
  const int parsed = parse_table_command(cmd, model::random_checkpoint_options(), o, args);
  if (parsed >= 0) return parsed;
  const auto t0 = std::chrono::steady_clock::now();
  o = model::write_random_checkpoint(o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << fmt::format("random-model: {} ({} {}x{}, {} blocks, {} heads / {} kv, vocab {}): {:.3f} B parameters, {}, seed {}, "
                           "{:.1f} s\n",
                           o.out_dir, o.family, o.hidden, o.intermediate, o.layers, o.heads, o.kv_heads, o.vocab,
                           static_cast<double>(o.parameters()) / 1e9, o.dtype, o.seed, s);
  if (!cmd.json_path.empty()) {
    write_json_result(cmd.json_path, {{"command", "random-model"}, {"out", o.out_dir}, {"family", o.family},
                                      {"parameters", o.parameters()}, {"dtype", o.dtype}, {"seed", o.seed}, {"seconds", s}});
  }
  return kExitOk;
}

}  // namespace oacim::cli
