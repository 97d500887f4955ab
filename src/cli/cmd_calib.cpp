// oacim calib: the float model writes its own calibration set (docs/algorithms.md C.3), saved as a
// token sample file that `oacim quantize --calib FILE` (and norm tweaking) read.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/cli/list_option.hpp"
#include "oacim/core/error.hpp"
#include "oacim/model/calibration_generator.hpp"
#include "oacim/runtime/torch_runtime.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

namespace {

std::vector<int> read_ids(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw FormatError(path, "cannot be opened");
  std::vector<int> ids;
  std::string word;
  while (in >> word) {
    std::size_t used = 0;
    int id = -1;
    try {
      id = std::stoi(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || id < 0) throw FormatError(path, fmt::format("'{}' is not a token id", word));
    ids.push_back(id);
  }
  if (ids.empty()) throw FormatError(path, "holds no token ids");
  return ids;
}

}  // namespace

int cmd_calib(const std::vector<std::string>& args) {
  model::CalibrationGenOptions o;
  std::string model_path, tokenizer_path, out, ids_file, greedy = "3,4,5";
  int threads = 0;
  bool keep_going = false;
  po::options_description opts("calib options");
  opts.add_options()
      ("model", po::value(&model_path)->required(), "float model (llama2.c checkpoint or Hugging Face directory)")
      ("tokenizer", po::value(&tokenizer_path), "tokenizer override (as for eval)")
      ("n", po::value(&o.n)->default_value(128), "samples (distinct first tokens)")
      ("len", po::value(&o.length)->default_value(0), "tokens per sample, prefix included (0: the model's positions)")
      ("seed", po::value(&o.seed)->default_value(0), "seed of the first tokens and of the sampling")
      ("top-k", po::value(&o.top_k)->default_value(50), "sampling keeps the k most likely tokens")
      ("temperature", po::value(&o.temperature)->default_value(1.0f), "sampling temperature")
      ("greedy", po::value(&greedy)->default_value(greedy), "greedy tokens after the prefix, cycled per chunk")
      ("chunk", po::value(&o.chunk)->default_value(0), "samples decoded together (0: max(1, min(16, n / 3)))")
      ("first-token-regex", po::value(&o.first_token_regex), "first tokens' text must match (ECMAScript), e.g. '^ ?[A-Za-z]+$'")
      ("first-token-ids", po::value(&ids_file), "file of allowed first-token ids (whitespace-separated)")
      ("no-stop", po::bool_switch(&keep_going), "sample to --len even past an end-of-text token")
      ("out", po::value(&out)->required(), "token sample file to write (.safetensors)")
      ("threads", po::value(&threads)->default_value(0), "CPU threads (0: all)");
  po::variables_map vm;
  const int parsed = parse_command_line("calib", "--model M --n 128 --len 2048 --seed 0 --out FILE", opts,
                                        po::options_description(), {}, args, vm);
  if (parsed >= 0) return parsed;
  o.stop_at_eos = !keep_going;
  o.greedy_lengths = parse_int_list(greedy, "--greedy");
  if (!ids_file.empty()) o.allowed_first_tokens = read_ids(ids_file);
  // Fail before generating (which may take long), not at the write.
  const std::filesystem::path parent = std::filesystem::absolute(out).parent_path();
  if (!std::filesystem::is_directory(parent)) {
    throw InvalidArgument("--out", fmt::format("the directory {} of {} does not exist", parent.string(), out));
  }
  configure_torch(threads);
  const auto t0 = std::chrono::steady_clock::now();
  const TokenSamples s = model::generate_calibration(model_path, tokenizer_path, o, [&](int done, int total) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << fmt::format("calib: {}/{} samples  {:.1f} s  (ETA {:.0f} s)\n", done, total, el, el / done * (total - done));
  });
  write_token_file(out, s);
  std::size_t tokens = 0;
  for (const auto& x : s.samples) tokens += x.size();
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << fmt::format("calib: {} samples, {} tokens (mean {:.1f}) -> {}  {:.1f} s ({:.0f} tokens/s)\n", s.samples.size(),
                           tokens, static_cast<double>(tokens) / static_cast<double>(s.samples.size()), out, el,
                           static_cast<double>(tokens) / el);
  return kExitOk;
}

}  // namespace oacim::cli
