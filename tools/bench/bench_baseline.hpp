#pragma once
// What every benchmark with a BLAS baseline does first: start again with the BLAS/OpenMP
// environment the product uses (runtime/blas_environment.hpp), refuse to report ratios against
// OpenBLAS's generic kernels (a 4-5x slower baseline flatters everything measured against it),
// and print the baseline's fp32 matmul rate so a reader can compare machines.
#include <cstdio>
#include <cstdlib>

#include "oacim/runtime/blas_environment.hpp"
#include "oacim/runtime/torch_runtime.hpp"

namespace oacim::bench {

// Returns the measured fp32 matmul rate (GFLOP/s, 1024^3); exits 2 on a generic OpenBLAS core.
inline double prepare_blas_baseline(char** argv, const char* name) {
  restart_with_blas_environment(argv);
  const BlasSetup setup = blas_setup();
  if (setup.generic) {
    std::fprintf(stderr, "%s: refusing to measure: %s\n", name, blas_setup_warning(setup).c_str());
    std::exit(2);
  }
  const double gflops = measure_matmul_gflops(1024, 9);
  std::printf("%s: baseline fp32 matmul 1024^3 %.1f GFLOP/s (OpenBLAS core %s)\n", name, gflops,
              setup.core.empty() ? "none: not OpenBLAS" : setup.core.c_str());
  return gflops;
}

}  // namespace oacim::bench
