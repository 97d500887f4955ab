// The oacim command-line tool; all behaviour lives in oacim_cli. Before anything loads work, the
// process starts itself once more with the BLAS/OpenMP environment the libraries read at load time
// (runtime/blas_environment.hpp): idle workers that do not spin, and OpenBLAS's matching kernels.
#include "oacim/cli/command.hpp"
#include "oacim/runtime/blas_environment.hpp"

int main(int argc, char** argv) {
  oacim::restart_with_blas_environment(argv);
  return oacim::cli::run(argc, argv);
}
