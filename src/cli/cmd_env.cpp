// oacim env: what the numeric runtime looks like on this machine. A reference BLAS behind
// libtorch makes every fp32 matmul ~35x slower; this command shows which one is loaded and
// measures it.
#include <algorithm>
#include <iostream>
#include <map>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "oacim/cli/command.hpp"
#include "oacim/cli/json_output.hpp"
#include "oacim/core/error.hpp"
#include "oacim/dist/communicator.hpp"
#include "oacim/runtime/blas_environment.hpp"
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

  // Under MPI every rank says where it runs; rank 0 measures and prints for the job.
  dist::Communicator& w = world();
  const std::vector<std::string> hosts = w.all_gather(w.host());
  if (!w.root()) return kExitOk;
  std::map<std::string, int> ranks_per_host;
  for (const std::string& h : hosts) ++ranks_per_host[h];
  std::string placement;
  for (const auto& [h, n] : ranks_per_host) placement += fmt::format("{}{} ({})", placement.empty() ? "" : ", ", h, n);
  const TorchRuntimeInfo info = configure_torch(threads);
  const double gflops = size > 0 ? measure_matmul_gflops(size, 5) : 0.0;
  std::cout << fmt::format("oacim {} (commit {})\n", kVersion, kGitCommit)
            << fmt::format("libtorch {}, {} thread(s): {}\n", info.torch_version, info.threads, info.parallel_info)
            << fmt::format("BLAS: {}{}\n", info.blas_library,
                           info.blas_threads > 0 ? fmt::format(", {} thread(s)", info.blas_threads) : "");
  const BlasSetup blas = blas_setup();
  if (!blas.core.empty()) {
    const auto shown = [&](const char* name, const std::string& value) {
      const bool ours = std::find(blas.set_by_oacim.begin(), blas.set_by_oacim.end(), name) != blas.set_by_oacim.end();
      return fmt::format("{}={}{}", name, value.empty() ? "(unset)" : value, ours ? " (set by oacim)" : "");
    };
    std::cout << fmt::format("OpenBLAS core: {}{}; {}, {}, {}\n", blas.core, blas.generic ? " (generic)" : "",
                             shown("OPENBLAS_CORETYPE", blas.coretype),
                             shown("OPENBLAS_THREAD_TIMEOUT", blas.thread_timeout),
                             shown("OMP_WAIT_POLICY", blas.omp_wait_policy));
  }
  if (size > 0) std::cout << fmt::format("fp32 matmul {}^3: {:.1f} GFLOP/s\n", size, gflops);
  std::cout << (dist::mpi_built_in() ? fmt::format("MPI: built in ({}); world of {} rank(s) on {}\n",
                                                   dist::mpi_library_version(), w.size(), placement)
                                     : "MPI: not built in (OACIM_WITH_MPI); one process\n");
  if (info.blas_library.find("openblas") == std::string::npos) {
    std::cout << "warning: libtorch is not using OpenBLAS; run tools/install-deps.sh (installs libopenblas0-pthread)\n";
  }
  if (const std::string warning = blas_setup_warning(blas); !warning.empty()) std::cout << "warning: " << warning << "\n";
  if (!json_path.empty()) {
    write_json_result(json_path, {{"command", "env"},
                                  {"torch_version", info.torch_version},
                                  {"threads", info.threads},
                                  {"blas", info.blas_library},
                                  {"blas_threads", info.blas_threads},
                                  {"openblas_core", blas.core},
                                  {"openblas_core_generic", blas.generic},
                                  {"blas_environment_set_by_oacim", blas.set_by_oacim},
                                  {"matmul_size", size},
                                  {"matmul_gflops", gflops},
                                  {"mpi", {{"built_in", dist::mpi_built_in()},
                                           {"library", dist::mpi_library_version()},
                                           {"world_size", w.size()},
                                           {"hosts", hosts}}}});
  }
  return kExitOk;
}

}  // namespace oacim::cli
