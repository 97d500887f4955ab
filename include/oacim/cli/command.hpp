#pragma once
// The oacim command-line interface: every subcommand is registered once, in command_registry.cpp.
// Exit codes: 0 success, 1 the run failed (bad file, I/O), 2 usage error (unknown option, bad value,
// invalid config), 3 a sign-off check failed or `compare` found a regression, 130 interrupted.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "oacim/core/progress.hpp"

namespace boost::program_options {
class options_description;
class variables_map;
}  // namespace boost::program_options

namespace oacim::dist {
class Communicator;
}  // namespace oacim::dist

namespace oacim::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitVerdict = 3;
inline constexpr int kExitInterrupted = 130;

struct Command {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
  // Runs on several MPI ranks together (docs/scaleout.md); the others refuse a world of more than one.
  bool distributed = false;
};

const std::vector<Command>& commands();

// Entry point of the `oacim` binary.
int run(int argc, char** argv);

// The processes of this job: MPI_COMM_WORLD under an MPI launcher (when built with MPI), else
// this process alone.
dist::Communicator& world();

// Parses a subcommand's arguments. Returns -1 when the command should go on; otherwise the exit
// code to return (0 after --help, 2 after a usage error, which is printed as one line on stderr).
int parse_command_line(const std::string& command, const std::string& usage,
                       const boost::program_options::options_description& options,
                       const boost::program_options::options_description& positional_options,
                       const std::vector<std::string>& positional_names, const std::vector<std::string>& args,
                       boost::program_options::variables_map& vm);

// `text` with control bytes written as \xNN, so a message is one line whatever it quotes.
std::string printable(const std::string& text);

// The running command's options by library name -> CLI spelling, so an error the library raises
// under an option's library name ("block_size") is reported under its spelling ("--block-size").
void set_option_spellings(std::map<std::string, std::string> spellings);

// Prints "oacim <command>: <message>" on stderr, as one line (printable()).
void print_error(const std::string& command, const std::string& message);
// The library's progress lines and warnings, each on its own line of stderr.
ProgressFn stderr_progress();

// Subcommand implementations.
int cmd_pack_demo(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_env(const std::vector<std::string>& args);
int cmd_hw_config(const std::vector<std::string>& args);
int cmd_cosim(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_calib(const std::vector<std::string>& args);
int cmd_tweak(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);
int cmd_random_model(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_compare(const std::vector<std::string>& args);
int cmd_options(const std::vector<std::string>& args);

}  // namespace oacim::cli
