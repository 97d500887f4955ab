#include <algorithm>
#include <iostream>
#include <map>
#include <memory>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/core/error.hpp"
#include "oacim/dist/communicator.hpp"
#include "oacim/eval/eval_options.hpp"
#include "oacim/model/calibration_options.hpp"
#include "oacim/model/gptq_export.hpp"
#include "oacim/model/random_checkpoint.hpp"
#include "oacim/quant/quantize_options.hpp"
#include "oacim/tweak/tweak_options.hpp"
#include "oacim/version.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"run", "the main job: run an experiment YAML (sweep) and write the sign-off report; resumable", cmd_run, true},
      {"report", "regenerate report.md, report.html and results.csv of a run from its results.json", cmd_report},
      {"compare", "what changed between two runs (perplexity, verdicts); exit 3 on a regression", cmd_compare},
      {"pack-demo", "quantize a seeded random matrix into PackedCimWeights; report ones-count and error",
       cmd_pack_demo},
      {"inspect", "validate a packed-weights safetensors file and print its layers and statistics", cmd_inspect},
      {"hw-config", "validate a hardware config YAML and print every knob resolved, or the knob table (--markdown)",
       cmd_hw_config},
      {"calib", "the float model writes its own calibration set (token sample file for quantize and tweak)", cmd_calib,
       true},
      {"quantize", "quantize a model with RTN, GPTQ or OA-CIM outlier-aware GPTQ into a packed model directory",
       cmd_quantize, true},
      {"tweak", "norm-tweak a quantized model on self-generated calibration text (lr/scale grid on held-out samples)",
       cmd_tweak},
      {"export", "write a quantized model directory as a GPTQ checkpoint (qweight/qzeros/scales/g_idx) for GPU tools",
       cmd_export},
      {"random-model", "write a Hugging Face llama/opt directory of seeded random weights at a real model's shape (timing at scale)",
       cmd_random_model},
      {"eval", "perplexity of a model on a dataset with the float, fakequant or bit-accurate hw backend", cmd_eval,
       true},
      {"cosim", "run the SystemC accelerator on a layer; check it bit for bit against the hw model", cmd_cosim},
      {"options", "the table of a command's options (calib, quantize, tweak, eval, export) as docs/configs.md shows it",
       cmd_options},
      {"env", "show the libtorch build, thread count, loaded BLAS and its measured fp32 GFLOP/s, MPI", cmd_env, true},
  };
  return kCommands;
}

std::string printable(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);  // a control byte from a file or option never breaks the line
    } else {
      out += ch;
    }
  }
  return out;
}

namespace {
std::map<std::string, std::string>& spellings() {
  static std::map<std::string, std::string> kSpellings;
  return kSpellings;
}
}  // namespace

void set_option_spellings(std::map<std::string, std::string> s) {
  for (auto& [name, cli] : s) spellings()[name] = std::move(cli);
}

namespace {

template <class T>
void add_spellings(const std::vector<Option<T>>& table) {
  for (const auto& o : table) {
    if (!o.cli.empty()) spellings().emplace(o.name, o.cli);
  }
}

// How the CLI names an option the library names in an error (the library says `max_abs_offset`, the
// user typed `--max-offset`): every table's spelling, else the name in kebab case.
std::string cli_spelling(const std::string& key) {
  static const bool every_table = [] {
    add_spellings(eval::eval_options());
    add_spellings(quant::quantize_options());
    add_spellings(tweak::tweak_options());
    add_spellings(model::calib_options());
    add_spellings(model::gptq_export_options());
    add_spellings(model::random_checkpoint_options());
    return true;
  }();
  (void)every_table;
  if (const auto it = spellings().find(key); it != spellings().end()) return "--" + it->second;
  if (key.empty() || key.rfind("--", 0) == 0 || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return key;  // already a flag, or not an option's name (a file, a dotted key)
  }
  std::string flag = "--" + key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

}  // namespace

ProgressFn stderr_progress() {
  return [](const std::string& line) { std::cerr << printable(line) << "\n" << std::flush; };
}

void print_error(const std::string& command, const std::string& message) {
  std::cerr << "oacim " << command << ": " << printable(message) << "\n";
}

namespace {

void print_help() {
  std::cout << "oacim " << kVersion << ": accuracy of LLMs on an outlier-aware INT4 compute-in-memory accelerator\n\n"
            << "usage: oacim <command> [options]\n       oacim <command> --help\n\ncommands:\n";
  for (const auto& c : commands()) std::cout << fmt::format("  {:<12}{}\n", c.name, c.summary);
  std::cout << "\noptions:\n  -h, --help     this help\n  -V, --version  version and git commit\n"
            << "\nexit codes: 0 ok, 1 run failed, 2 usage or config error, 3 sign-off check failed / regression, 130 interrupted\n";
}

}  // namespace

int parse_command_line(const std::string& command, const std::string& usage, const po::options_description& options,
                       const po::options_description& positional_options,
                       const std::vector<std::string>& positional_names, const std::vector<std::string>& args,
                       po::variables_map& vm) {
  po::options_description all;
  all.add_options()("help,h", "this help");
  all.add(options);
  all.add(positional_options);
  po::positional_options_description pos;
  for (const auto& n : positional_names) pos.add(n.c_str(), 1);
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: oacim " << command << " " << usage << "\n\n" << options << "\n";
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    print_error(command, std::string(e.what()) + " (see 'oacim " + command + " --help')");
    return kExitUsage;
  }
  return -1;
}

namespace {
dist::Communicator* g_world = nullptr;

// An error of one rank: reported, then the whole job ends (the other ranks may be waiting for it).
int fail_rank(const std::string& command, const std::string& message, int code) {
  dist::Communicator& w = world();
  if (!w.distributed()) {
    print_error(command, message);
    return code;
  }
  print_error(command, fmt::format("[rank {} of {} on {}] {}", w.rank(), w.size(), w.host(), message));
  std::cerr << std::flush;
  w.abort(code);
  return code;  // not reached: abort ends the process
}

int dispatch(const std::vector<std::string>& args);
}  // namespace

dist::Communicator& world() { return g_world ? *g_world : dist::single_process(); }

int run(int argc, char** argv) {
  std::unique_ptr<dist::Session> session;
  try {
    session = std::make_unique<dist::Session>(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "oacim: " << printable(e.what()) << "\n";
    return kExitUsage;
  }
  g_world = &session->world();
  const int code = dispatch(std::vector<std::string>(argv + 1, argv + argc));
  g_world = nullptr;
  return code;
}

namespace {

int dispatch(const std::vector<std::string>& args) {
  if (args.empty()) {
    print_help();
    return kExitUsage;
  }
  const std::string& first = args.front();
  if (first == "-h" || first == "--help" || first == "help") {
    print_help();
    return kExitOk;
  }
  if (first == "-V" || first == "--version") {
    std::cout << "oacim " << kVersion << " (commit " << kGitCommit << ")\n";
    return kExitOk;
  }
  const auto& cmds = commands();
  const auto it = std::find_if(cmds.begin(), cmds.end(), [&](const Command& c) { return c.name == first; });
  if (it == cmds.end()) {
    std::cerr << "oacim: unknown command or option '" << printable(first) << "' (see 'oacim --help')\n";
    return kExitUsage;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (world().distributed() && !it->distributed) {
    // Every rank decides alike: no rank waits for another.
    if (world().root()) {
      print_error(it->name, fmt::format("runs as one process, not as {} MPI ranks; launch it without mpirun/srun "
                                        "(run, eval and quantize use several ranks)",
                                        world().size()));
    }
    return kExitUsage;
  }
  try {
    return it->run(rest);
  } catch (const dist::JobFailure& e) {
    if (world().root()) print_error(it->name, e.what());
    return e.exit_code();
  } catch (const InvalidArgument& e) {
    return fail_rank(it->name, cli_spelling(e.key()) + ": " + e.reason(), kExitUsage);
  } catch (const std::exception& e) {
    return fail_rank(it->name, e.what(), kExitFailure);
  }
}

}  // namespace

}  // namespace oacim::cli
