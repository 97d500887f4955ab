#include "oacim/runtime/blas_environment.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace oacim {

CpuVectorLevel cpu_vector_level() {
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    return CpuVectorLevel::Avx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuVectorLevel::Avx2;
  return CpuVectorLevel::Generic;
}

std::string openblas_core() {
  using CoreName = char* (*)();
  const auto name = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (name == nullptr) return "";
  const char* core = name();
  return core ? core : "";
}

bool openblas_core_is_generic(const std::string& core, CpuVectorLevel level) {
  if (core.empty()) return false;
  // OpenBLAS 0.3.21's names (openblas_get_corename) of the kernel sets using AVX-512 / AVX2.
  static const char* const kAvx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  static const char* const kAvx2[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
  const auto in = [&](const auto& list) {
    for (const char* c : list) {
      if (core == c) return true;
    }
    return false;
  };
  switch (level) {
    case CpuVectorLevel::Avx512: return !in(kAvx512);
    case CpuVectorLevel::Avx2: return !in(kAvx2);
    case CpuVectorLevel::Generic: return false;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> blas_environment_additions(const EnvironmentLookup& getenv,
                                                                             const std::string& core,
                                                                             CpuVectorLevel level) {
  std::vector<std::pair<std::string, std::string>> add;
  if (getenv(kBlasEnvironmentMarker) != nullptr) return add;
  if (getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr) add.emplace_back("OPENBLAS_THREAD_TIMEOUT", "4");
  if (getenv("OMP_WAIT_POLICY") == nullptr) add.emplace_back("OMP_WAIT_POLICY", "PASSIVE");
  if (getenv("OPENBLAS_CORETYPE") == nullptr && openblas_core_is_generic(core, level)) {
    add.emplace_back("OPENBLAS_CORETYPE", level == CpuVectorLevel::Avx512 ? "SKYLAKEX" : "HASWELL");
  }
  return add;
}

void restart_with_blas_environment(char** argv) {
  const auto add = blas_environment_additions([](const char* n) { return std::getenv(n); }, openblas_core(),
                                              cpu_vector_level());
  if (add.empty()) return;
  std::string names;
  for (const auto& [name, value] : add) {
    ::setenv(name.c_str(), value.c_str(), 1);
    names += (names.empty() ? "" : ",") + name;
  }
  ::setenv(kBlasEnvironmentMarker, names.c_str(), 1);
  ::execv("/proc/self/exe", argv);  // only returns on failure: go on as we are
}

BlasSetup blas_setup() {
  const auto value = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  BlasSetup s;
  s.core = openblas_core();
  s.generic = openblas_core_is_generic(s.core, cpu_vector_level());
  s.coretype = value("OPENBLAS_CORETYPE");
  s.thread_timeout = value("OPENBLAS_THREAD_TIMEOUT");
  s.omp_wait_policy = value("OMP_WAIT_POLICY");
  std::istringstream names(value(kBlasEnvironmentMarker));
  for (std::string n; std::getline(names, n, ',');) {
    if (n.rfind("OPENBLAS_", 0) == 0 || n.rfind("OMP_", 0) == 0) s.set_by_oacim.push_back(n);
  }
  return s;
}

std::string blas_setup_warning(const BlasSetup& s) {
  if (s.generic) {
    return "OpenBLAS runs its generic '" + s.core + "' kernels on a CPU with " +
           (cpu_vector_level() == CpuVectorLevel::Avx512 ? "AVX-512: set OPENBLAS_CORETYPE=SKYLAKEX"
                                                          : "AVX2: set OPENBLAS_CORETYPE=HASWELL") +
           " (every fp32 matmul runs 4-5x slower)";
  }
  if (!s.core.empty() && (s.thread_timeout.empty() || s.omp_wait_policy.empty())) {
    return "OpenBLAS/OpenMP workers spin after each call (OPENBLAS_THREAD_TIMEOUT or OMP_WAIT_POLICY unset): "
           "they take cores from the next step";
  }
  return "";
}

}  // namespace oacim
