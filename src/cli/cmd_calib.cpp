// oacim calib: the float model writes its own calibration set (docs/algorithms.md C.3), saved as a
// token sample file that `oacim quantize --calib FILE` (and norm tweaking) read. Under MPI the ranks
// decode a share of the chunks each; the file has the bytes of a one-process run.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/cli/table_options.hpp"
#include "oacim/core/error.hpp"
#include "oacim/model/calibration_options.hpp"
#include "oacim/quant/distributed_calibration.hpp"
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
  model::CalibRunOptions c;
  int threads = 0;
  po::options_description opts("calib options");
  add_table_options(opts, model::calib_options());
  add_threads_option(opts, threads);
  po::variables_map vm;
  const int parsed = parse_command_line("calib", "--model M --nsamples 128 --seqlen 2048 --seed 0 --out FILE", opts,
                                        po::options_description(), {}, args, vm);
  if (parsed >= 0) return parsed;
  apply_table_options(vm, model::calib_options(), c);
  model::CalibrationGenOptions& o = c.gen;
  const std::string& out = c.out;
  if (!c.first_token_ids_file.empty()) o.allowed_first_tokens = read_ids(c.first_token_ids_file);
  // Fail before generating (which may take long), not at the write.
  const std::filesystem::path parent = std::filesystem::absolute(out).parent_path();
  if (!std::filesystem::is_directory(parent)) {
    throw InvalidArgument("--out", fmt::format("the directory {} of {} does not exist", parent.string(), out));
  }
  configure_torch(threads);
  dist::Communicator& comm = world();
  const auto t0 = std::chrono::steady_clock::now();
  // Chunks of samples decode together; under MPI each rank decodes every size-th chunk (rank 0 reports its own).
  const TokenSamples s = quant::generate_calibration_on_ranks(c.model_path, c.tokenizer_path, o, comm, [&](int done, int total) {
    if (!comm.root()) return;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << fmt::format("calib: {}/{} chunks{}  {:.1f} s  (ETA {:.0f} s)\n", done, total,
                             comm.distributed() ? fmt::format(" of rank 0 ({} ranks)", comm.size()) : "", el,
                             el / done * (total - done));
  });
  if (!comm.root()) return kExitOk;  // rank 0 writes the file
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
