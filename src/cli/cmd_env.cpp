// oacim env: what the numeric runtime looks like on this machine. A reference BLAS behind
// libtorch makes every fp32 matmul ~35x slower; this command shows which one is loaded and
// measures it.
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/core/error.hpp"
#include "oacim/runtime/torch_runtime.hpp"
#include "oacim/version.hpp"

namespace po = boost::program_options;

namespace oacim::cli {

int cmd_env(const std::vector<std::string>& args) {
  int threads = 0;
  int size = 1024;
  std::string json_path;
  po::options_description opts("env options");
  opts.add_options()
      ("threads", po::value(&threads)->default_value(0), "torch intra-op threads (0 = all cores)")
      ("matmul-size", po::value(&size)->default_value(size), "n of the n x n x n fp32 matmul measured (0 = skip)")
      ("json", po::value(&json_path), "write the facts to this JSON file");
  po::variables_map vm;
  const int parsed = parse_command_line("env", "[options]", opts, po::options_description(), {}, args, vm);
  if (parsed >= 0) return parsed;
  if (threads < 0) throw InvalidArgument("--threads", fmt::format("{} is negative", threads));
  if (size < 0 || size > 8192) throw InvalidArgument("--matmul-size", fmt::format("{} is outside 0..8192", size));

  const TorchRuntimeInfo info = configure_torch(threads);
  const double gflops = size > 0 ? measure_matmul_gflops(size, 5) : 0.0;
  std::cout << fmt::format("oacim {} (commit {})\n", kVersion, kGitCommit)
            << fmt::format("libtorch {}, {} thread(s): {}\n", info.torch_version, info.threads, info.parallel_info)
            << fmt::format("BLAS: {}\n", info.blas_library);
  if (size > 0) std::cout << fmt::format("fp32 matmul {}^3: {:.1f} GFLOP/s\n", size, gflops);
  if (info.blas_library.find("openblas") == std::string::npos) {
    std::cout << "warning: libtorch is not using OpenBLAS; run tools/install-deps.sh (installs libopenblas0-pthread)\n";
  }
  if (!json_path.empty()) {
    write_json_result(json_path, {{"command", "env"},
                                  {"torch_version", info.torch_version},
                                  {"threads", info.threads},
                                  {"blas", info.blas_library},
                                  {"matmul_size", size},
                                  {"matmul_gflops", gflops}});
  }
  return kExitOk;
}

}  // namespace oacim::cli
