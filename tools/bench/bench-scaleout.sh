#!/usr/bin/env bash
# MPI scale-out benchmark (docs/scaleout.md), side by side in one run on this machine:
#   1. eval tokens/s of the bundled model on the hw backend, 1 process vs 2 ranks (1 thread each);
#   2. the sweep's scheduling overhead per task (build/tools/bench/bench_dispatch);
#   3. the default sweep (configs/default.yaml), 1 process vs 2 ranks (--jobs 1 each).
# Prints ratios against the 1-process run measured just before. Needs a build with MPI (build/).
# Usage: bash tools/bench/bench-scaleout.sh [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
oacim="$build/oacim"
mpi() { timeout -k 10 900 mpirun --allow-run-as-root --oversubscribe --bind-to none "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OPENBLAS_THREAD_TIMEOUT=4 OMP_WAIT_POLICY=PASSIVE  # no spinning BLAS workers (docs/performance.md)

"$oacim" env --matmul-size 0 | grep -E '^(BLAS|MPI)'
eval_args=(eval --model tests/data/stories260K/stories260K.bin --dataset wikitext2 --seqlen 256 --max-windows 96
           --backend hw --threads 1)
"$oacim" "${eval_args[@]}" --json "$work/e1.json" >/dev/null 2>&1
mpi -n 2 "$oacim" "${eval_args[@]}" --json "$work/e2.json" >/dev/null 2>&1
tps() { python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["tokens_per_second"]))' "$1"; }
same=$(python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:3]); print("identical" if a["window_nll"]==b["window_nll"] and a["perplexity"]==b["perplexity"] else "DIFFERENT")' "$work/e1.json" "$work/e2.json")
t1=$(tps "$work/e1.json"); t2=$(tps "$work/e2.json")
echo
echo "eval, hw backend, 96 windows x 256 tokens, 1 thread per rank (perplexity $same):"
printf '  1 process  %8s tokens/s\n  2 ranks    %8s tokens/s  (%.2fx)\n' "$t1" "$t2" "$(python3 -c "print($t2/$t1)")"

echo
echo "scheduling overhead per task:"
mpi -n 2 "$build/tools/bench/bench_dispatch" 200 | sed 's/^/  /'

echo
echo "default sweep (configs/default.yaml, 6 points, 24 tasks), --jobs 1 per rank:"
s0=$(date +%s.%N)
"$oacim" run configs/default.yaml --out "$work/s1" --jobs 1 --quiet >/dev/null
s1=$(date +%s.%N)
mpi -n 2 "$oacim" run configs/default.yaml --out "$work/s2" --jobs 1 --quiet >/dev/null
s2=$(date +%s.%N)
python3 - "$s0" "$s1" "$s2" <<'PY'
import sys
s0, s1, s2 = map(float, sys.argv[1:4])
one, two = s1 - s0, s2 - s1
print(f"  1 process  {one:7.1f} s\n  2 ranks    {two:7.1f} s  ({one / two:.2f}x)")
PY
