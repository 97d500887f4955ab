#!/usr/bin/env bash
# The sanitizer job of CI: builds the torch-free layers (core, hw, data, sim, model_io, options,
# report, sweep) and their tests with AddressSanitizer and UndefinedBehaviorSanitizer in
# build-asan/ and runs them, the replay of the fuzz corpus (tests/fuzz) included. The libtorch
# layers are left out: their tests under ASan take hours (libtorch itself is not instrumented);
# run `bash tools/run-sanitizers.sh --all` for the whole suite now and then. MPI is left out too
# (OpenMPI's own allocations at MPI_Init read as leaks); dist runs as one process here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
torch=OFF
[ "${1:-}" = "--all" ] && torch=ON
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOACIM_SANITIZE=address,undefined \
  -DOACIM_WITH_TORCH=$torch -DOACIM_BUILD_BENCH=OFF -DOACIM_WITH_MPI=OFF
cmake --build build-asan
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2
