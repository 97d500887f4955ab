// oacim hw-config: validates a hardware config and prints it resolved (every knob, defaults
// filled in), or prints the table of knobs that docs/configs.md embeds.
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/hw/hw_config_io.hpp"
#include "oacim/hw/hw_params.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

int cmd_hw_config(const std::vector<std::string>& args) {
  std::string file;
  std::string json_path;
  bool markdown = false;
  po::options_description opts("hw-config options");
  opts.add_options()("markdown", po::bool_switch(&markdown), "print the table of every knob (docs/configs.md)")(
      "json", po::value(&json_path), "write the resolved config to this JSON file");
  po::options_description pos;
  pos.add_options()("file", po::value(&file), "hardware config YAML (default: the built-in defaults)");
  po::variables_map vm;
  const int parsed = parse_command_line("hw-config", "[FILE.yaml] [--markdown] [--json OUT]", opts, pos, {"file"},
                                        args, vm);
  if (parsed >= 0) return parsed;
  if (markdown) {
    std::cout << hw::hw_params_markdown();
    return kExitOk;
  }
  const hw::HwConfig cfg = file.empty() ? hw::default_hw_config() : hw::load_hw_config(file);
  std::cout << "# " << (file.empty() ? "built-in defaults" : file) << ": valid\n" << hw::to_yaml(cfg);
  if (!json_path.empty()) {
    nlohmann::json kv(hw::to_key_values(cfg));
    write_json_result(json_path, {{"command", "hw-config"}, {"name", cfg.name}, {"source", cfg.source}, {"config", kv}});
  }
  return kExitOk;
}

}  // namespace oacim::cli
