// oacim options COMMAND: the table of a command's options (spelling, type, default, experiment key,
// doc) as docs/configs.md embeds it, generated from the command's option table.
#include <iostream>

#include <boost/program_options.hpp>

#include "oacim/cli/command.hpp"
#include "oacim/cli/table_options.hpp"
#include "oacim/core/error.hpp"
#include "oacim/eval/eval_options.hpp"
#include "oacim/model/calibration_options.hpp"
#include "oacim/model/gptq_export.hpp"
#include "oacim/model/random_checkpoint.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/tweak/tweak_options.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

int cmd_options(const std::vector<std::string>& args) {
  std::string command;
  po::options_description pos;
  pos.add_options()("command", po::value(&command), "calib | quantize | tweak | eval | export | random-model");
  po::variables_map vm;
  const int parsed = parse_command_line("options", "calib|quantize|tweak|eval|export|random-model", po::options_description(), pos,
                                        {"command"}, args, vm);
  if (parsed >= 0) return parsed;
  if (command == "calib") {
    std::cout << table_options_markdown(model::calib_options());
  } else if (command == "quantize") {
    std::cout << table_options_markdown(quant::quantize_options());
  } else if (command == "tweak") {
    std::cout << table_options_markdown(tweak::tweak_options());
  } else if (command == "eval") {
    std::cout << table_options_markdown(eval::eval_options());
  } else if (command == "export") {
    std::cout << table_options_markdown(model::gptq_export_options());
  } else if (command == "random-model") {
    std::cout << table_options_markdown(model::random_checkpoint_options());
  } else {
    throw InvalidArgument("command", fmt::format("'{}' is not one of calib | quantize | tweak | eval | export | random-model", command));
  }
  return kExitOk;
}

}  // namespace oacim::cli
