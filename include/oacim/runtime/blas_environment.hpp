#pragma once
// The environment the numeric libraries read once, when they load (docs/performance.md): OpenBLAS's
// and libgomp's idle workers spin after each call and take the cores from the next step (the
// datapath's threads, another task; measured: float eval of stories260K at 4-9k tokens/s with the
// spin, 13-14k without), and OpenBLAS 0.3.21 does not know some newer CPUs and falls back to its
// generic Prescott kernels (4-5x slower). So a program sets what is missing and starts itself
// again, once, before any work: OPENBLAS_THREAD_TIMEOUT=4 and OMP_WAIT_POLICY=PASSIVE unless the
// user set them, and OPENBLAS_CORETYPE (SKYLAKEX on a CPU with AVX-512, HASWELL with AVX2) when
// OpenBLAS picked a generic core and the user set none. OACIM_BLAS_ENVIRONMENT=keep turns it off.
// No torch: the core name comes from OpenBLAS's own C entry point when the library is loaded.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace oacim {

// The marker variable: set by the restart to the names it added ("" when none), or by the user to
// "keep" to run with the environment as it is.
inline constexpr const char* kBlasEnvironmentMarker = "OACIM_BLAS_ENVIRONMENT";

// What the CPU can run, as far as BLAS kernels go.
enum class CpuVectorLevel { Generic, Avx2, Avx512 };
CpuVectorLevel cpu_vector_level();

// The kernel set OpenBLAS runs ("Cooperlake", "Prescott", ...), "" when the BLAS is not OpenBLAS.
std::string openblas_core();

// Whether `core` is below what a CPU of `level` can run (a generic core on an AVX2 or AVX-512
// machine). An empty core (not OpenBLAS) is never generic.
bool openblas_core_is_generic(const std::string& core, CpuVectorLevel level);

// The variables to add (name, value), given a lookup of the current environment, OpenBLAS's core and
// the CPU. Empty when the marker is set (started again already, or the user said keep).
using EnvironmentLookup = std::function<const char*(const char*)>;
std::vector<std::pair<std::string, std::string>> blas_environment_additions(const EnvironmentLookup& getenv,
                                                                             const std::string& core,
                                                                             CpuVectorLevel level);

// Sets the additions for this process and re-executes /proc/self/exe with `argv`, once. Returns when
// nothing was missing, or when exec failed (the program then runs as it is).
void restart_with_blas_environment(char** argv);

// How this process's BLAS is set up, for `oacim env` and the benchmarks.
struct BlasSetup {
  std::string core;                     // OpenBLAS's kernel set, "" if not OpenBLAS
  bool generic = false;                 // a generic core on a CPU that can run a better one
  std::string coretype;                 // OPENBLAS_CORETYPE as set, "" if unset
  std::string thread_timeout;           // OPENBLAS_THREAD_TIMEOUT as set
  std::string omp_wait_policy;          // OMP_WAIT_POLICY as set
  std::vector<std::string> set_by_oacim;  // which of them the restart added
};
BlasSetup blas_setup();

// One line of advice when the setup costs speed ("" when it does not).
std::string blas_setup_warning(const BlasSetup& setup);

}  // namespace oacim
