#!/usr/bin/env bash
# Runs every fuzz target (tests/fuzz) under libFuzzer with AddressSanitizer and UBSan for a time
# budget each, starting from the seed corpus. Usage:
#   bash tools/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
# Builds build-fuzz/ with clang (installed if missing) and the torch-free layers; finds go to
# build-fuzz/artifacts/<target>/ (a crash, leak, sanitizer report or timeout keeps its input there),
# the grown corpus to build-fuzz/corpus/<target>/. Prints one line per target: inputs executed,
# coverage, findings. Exit 1 when any target found something.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
if ! command -v clang++ >/dev/null 2>&1 || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOACIM_FUZZ=ON -DOACIM_SANITIZE=address,undefined -DOACIM_WITH_TORCH=OFF -DOACIM_WITH_SYSTEMC=OFF -DOACIM_WITH_MPI=OFF >build-fuzz.log 2>&1 &&
  cmake --build build-fuzz --target oacim_fuzz >>build-fuzz.log 2>&1 || { tail -30 build-fuzz.log; exit 2; }
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(OACIM_FUZZ_TARGET=none build-fuzz/tests/oacim_fuzz 2>&1 | sed -n 's/.*one of://p' | tr ' ' '\n' | grep -v '^$')
fi
found=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  log="build-fuzz/artifacts/$t/fuzz.log"
  touch "build-fuzz/artifacts/$t/.started"  # findings of earlier runs stay but do not count again
  OACIM_FUZZ_TARGET="$t" ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    build-fuzz/tests/oacim_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*')
  finds=$(find "build-fuzz/artifacts/$t" -newer "build-fuzz/artifacts/$t/.started" \( -name 'crash-*' -o -name 'leak-*' \
    -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  printf '%-20s %10s inputs  cov %6s  findings %s%s\n' "$t" "${runs:-?}" "${cov:-?}" "$finds" \
    "$([ "$rc" -ne 0 ] && echo "  (exit $rc, see $log)")"
  [ "$finds" -eq 0 ] && [ "$rc" -eq 0 ] || found=1
done
exit "$found"
