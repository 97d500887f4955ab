#!/usr/bin/env bash
# oacim on MPI (docs/scaleout.md), 3 ranks on this machine: eval, calib and quantize bit-identical
# to one process (and resumed from per-rank evaluation checkpoints), a sweep with the same results.json
# numbers and verdicts, the whole job killed mid-run
# and relaunched (nothing finished lost or recomputed), a worker rank killed (the job fails, the
# rerun finishes), ranks that disagree on the config or the build stopped by rank 0, and the
# commands that run as one process refusing several. Every mpirun is bounded in time.
set -u
source "${SRC:?}/tests/cli/lib.sh" "$@"
cd "$SRC"
MPIRUN=${MPIRUN:-mpirun}
mpi() { timeout -k 10 300 "$MPIRUN" --allow-run-as-root --oversubscribe "$@"; }
# JSON equal after dropping wall-clock fields, paths under the two output directories and the task
# ids (hashes of command lines that name files in the output directory).
same_json() {
  "$PYTHON" -c '
import json, sys
a_path, b_path, a_dir, b_dir = sys.argv[1:5]
def norm(x, d):
    if isinstance(x, dict):
        return {k.replace(d, "DIR"): norm(v, d) for k, v in x.items()
                if k not in ("seconds", "tokens_per_second", "wall_seconds", "started", "machine", "file", "tasks")}
    if isinstance(x, list): return [norm(v, d) for v in x]
    if isinstance(x, str): return x.replace(d, "DIR")
    return x
a = norm(json.load(open(a_path)), a_dir); b = norm(json.load(open(b_path)), b_dir)
sys.exit(0 if a == b else 1)
' "$1" "$2" "$3" "$4"
}

# ---- env: the world ----
mpi -n 3 "$OACIM" env --matmul-size 0 >"$work/env.txt" 2>&1 || fail "env under mpirun: $(cat "$work/env.txt")"
grep -q "world of 3 rank(s)" "$work/env.txt" || fail "env does not show 3 ranks: $(cat "$work/env.txt")"
[ "$(grep -c '^MPI:' "$work/env.txt")" -eq 1 ] || fail "env printed by more than rank 0: $(cat "$work/env.txt")"

# ---- a command that runs as one process refuses several ranks, once, exit 2 ----
mpi -n 2 "$OACIM" tweak --help >"$work/out" 2>"$work/err"
[ $? -eq 2 ] || fail "tweak under 2 ranks did not exit 2"
[ "$(grep -c 'runs as one process' "$work/err")" -eq 1 ] || fail "tweak refusal: $(cat "$work/err")"

# ---- eval: every backend, 1 process vs 3 ranks (10 windows: shares of 4, 3, 3) ----
for backend in float fakequant hw systemc; do
  args=(eval --model "$model" --dataset wikitext2 --seqlen 64 --max-windows 10 --backend "$backend" --threads 1)
  "$OACIM" "${args[@]}" --json "$work/e1.json" >"$work/e1.txt" 2>/dev/null || fail "eval $backend (1 process)"
  mpi -n 3 "$OACIM" "${args[@]}" --json "$work/e3.json" >"$work/e3.txt" 2>"$work/e3.err" || fail "eval $backend (3 ranks): $(tail -3 "$work/e3.err")"
  same_json "$work/e1.json" "$work/e3.json" x x || fail "eval $backend: 3 ranks differ from 1 process"
  [ "$(grep -c 'perplexity' "$work/e3.txt")" -eq 1 ] || fail "eval $backend: the result printed by more than rank 0"
  grep -o 'perplexity [0-9.]*' "$work/e1.txt" >"$work/p1"; grep -o 'perplexity [0-9.]*' "$work/e3.txt" >"$work/p3"
  cmp -s "$work/p1" "$work/p3" || fail "eval $backend: printed perplexity differs"
done

# ---- eval compared with the float model: the reference computed on 3 ranks is the same file, the
# token statistics the same numbers, the per-token losses the same bytes ----
args=(eval --model "$model" --dataset wikitext2 --seqlen 64 --max-windows 10 --backend hw --threads 1)
"$OACIM" "${args[@]}" --float-reference "$work/ref1" --token-nll "$work/ref1/nll" --json "$work/k1.json" >/dev/null 2>&1 || fail "eval vs float (1 process)"
mpi -n 3 "$OACIM" "${args[@]}" --float-reference "$work/ref3" --token-nll "$work/ref3/nll" --json "$work/k3.json" >/dev/null 2>"$work/k3.err" || fail "eval vs float (3 ranks): $(tail -3 "$work/k3.err")"
same_json "$work/k1.json" "$work/k3.json" "$work/ref1" "$work/ref3" || fail "eval vs float: 3 ranks differ from 1 process"
cmp -s "$work"/ref1/*.safetensors "$work"/ref3/*.safetensors || fail "eval vs float: the cached float reference differs"
cmp -s "$work/ref1/nll" "$work/ref3/nll" || fail "eval vs float: the per-token losses differ"

# ---- eval with a checkpoint: a file per rank; relaunched with rank 1's file lost, rank 1
# evaluates its share again, ranks 0 and 2 resume theirs, and the numbers are the same ----
mpi -n 3 "$OACIM" "${args[@]}" --checkpoint "$work/ck" --json "$work/c1.json" >/dev/null 2>"$work/c1.err" || fail "eval --checkpoint (3 ranks): $(tail -3 "$work/c1.err")"
for r in 0 1 2; do [ -f "$work/ck.rank${r}of3" ] || fail "eval --checkpoint: no file for rank $r"; done
rm "$work/ck.rank1of3"
mpi -n 3 "$OACIM" "${args[@]}" --checkpoint "$work/ck" --json "$work/c2.json" >/dev/null 2>"$work/c2.err" || fail "eval --checkpoint relaunched: $(tail -3 "$work/c2.err")"
"$PYTHON" -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
same = all(a[k] == b[k] for k in ("perplexity", "window_nll", "hw_counters", "perplexity_se"))
sys.exit(0 if same and a["checkpoint"]["resumed_windows"] == 0 and b["checkpoint"]["resumed_windows"] == 4 else 1)
' "$work/c1.json" "$work/c2.json" || fail "eval --checkpoint relaunched: other numbers, or rank 0 did not resume its 4 windows"

# ---- a zero-shot task: the documents shared over 3 ranks, the same scores ----
args=(eval --model "$model" --task "$SRC/tests/data/tasks/tiny_last_word.jsonl" --backend hw --threads 1)
"$OACIM" "${args[@]}" --json "$work/t1.json" >/dev/null 2>&1 || fail "eval --task (1 process)"
mpi -n 3 "$OACIM" "${args[@]}" --json "$work/t3.json" >/dev/null 2>"$work/t3.err" || fail "eval --task (3 ranks): $(tail -3 "$work/t3.err")"
same_json "$work/t1.json" "$work/t3.json" x x || fail "eval --task: 3 ranks differ from 1 process"

# ---- calib: each rank decodes a share of the chunks (7 samples in 4 chunks of 2); the file has the
# bytes of one process ----
c=(calib --model "$model" --n 7 --len 48 --seed 2 --threads 1)
"$OACIM" "${c[@]}" --out "$work/cal1.safetensors" >/dev/null 2>&1 || fail "calib (1 process)"
mpi -n 3 "$OACIM" "${c[@]}" --out "$work/cal3.safetensors" >"$work/cal3.txt" 2>"$work/cal3.err" || fail "calib (3 ranks): $(tail -3 "$work/cal3.err")"
cmp -s "$work/cal1.safetensors" "$work/cal3.safetensors" || fail "calib: 3 ranks differ from 1 process"
[ "$(grep -c '^calib:' "$work/cal3.txt")" -eq 1 ] || fail "calib: the summary printed by more than rank 0"

# ---- quantize: OA with outliers, offsets, true-sequential; 1 process vs 3 ranks; resume across ----
q=(quantize --model "$model" --method oa --outliers --offsets --true-sequential --nsamples 7 --seqlen 64 --threads 1)
"$OACIM" "${q[@]}" --out "$work/q1" >/dev/null 2>&1 || fail "quantize (1 process)"
mpi -n 3 "$OACIM" "${q[@]}" --out "$work/q3" >"$work/q3.txt" 2>"$work/q3.err" || fail "quantize (3 ranks): $(tail -3 "$work/q3.err")"
cmp -s "$work/q1/quantized.safetensors" "$work/q3/quantized.safetensors" || fail "quantize: 3 ranks differ from 1 process"
[ "$(grep -c '^quantize:' "$work/q3.txt")" -eq 1 ] || fail "quantize: the summary printed by more than rank 0"
mpi -n 3 "$OACIM" "${q[@]}" --out "$work/qr" --max-blocks 2 >/dev/null 2>&1 || fail "quantize --max-blocks 2 (3 ranks)"
[ -f "$work/qr/partial/block-0001.safetensors" ] || fail "quantize (3 ranks) left no checkpoint of block 1"
mpi -n 2 "$OACIM" "${q[@]}" --out "$work/qr" >/dev/null 2>&1 || fail "quantize resumed on 2 ranks"
cmp -s "$work/q1/quantized.safetensors" "$work/qr/quantized.safetensors" || fail "quantize resumed on other ranks differs"
mpi -n 2 "$OACIM" quantize --model "$model" --method discquant --out "$work/dq" >/dev/null 2>"$work/err"
[ $? -eq 2 ] && grep -q "discquant optimises the whole model in one process" "$work/err" || fail "discquant under MPI: $(cat "$work/err")"

# ---- sweep: the same numbers and verdicts as one process ----
cat >"$work/sweep.yaml" <<EOF
name: mpi sweep
model: $model
datasets: [$text]
eval: {seqlen: 64, max_windows: 6}
calibration: {source: self, nsamples: 4, seqlen: 64}
quantization: {method: [rtn, oa], outliers: true}
backends: [float, fakequant, hw, systemc]
thresholds: {fakequant_vs_float_ppl_pct: 50, systemc_bit_exact: true}
threads: 1   # BLAS cuts long sums by its thread count: equal threads, equal bits (docs/scaleout.md)
EOF
"$OACIM" run "$work/sweep.yaml" --out "$work/s1" --quiet >/dev/null 2>&1 || fail "sweep (1 process)"
mpi -n 3 "$OACIM" run "$work/sweep.yaml" --out "$work/s3" >"$work/s3.txt" 2>"$work/s3.err" || fail "sweep (3 ranks): $(tail -3 "$work/s3.err")"
same_json "$work/s1/results.json" "$work/s3/results.json" "$work/s1" "$work/s3" || fail "sweep: results.json of 3 ranks differs"
grep -q "on rank [12] on" "$work/s3.err" || fail "sweep: no task ran on another rank: $(cat "$work/s3.err")"
grep -q "^# rank [12] of 3 on" "$work"/s3/logs/*.log || fail "sweep: no task log says it ran on another rank"

# ---- the whole job killed mid-run, relaunched on 2 ranks: nothing finished lost or recomputed ----
mpi -n 3 "$OACIM" run "$work/sweep.yaml" --out "$work/sk" --quiet >/dev/null 2>&1 &
job=$!
for _ in $(seq 600); do
  [ "$(ls "$work"/sk/cache/eval-*.json 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.05
done
kill -KILL "$job" 2>/dev/null; wait "$job" 2>/dev/null
pkill -KILL -f -- "--out $work/sk" 2>/dev/null
for _ in $(seq 100); do pgrep -f -- "$work/sk" >/dev/null || break; sleep 0.1; done
pgrep -f -- "$work/sk" >/dev/null && fail "processes of the killed job are left"
done_before=$(ls "$work"/sk/cache/*.json 2>/dev/null)
[ -n "$done_before" ] || fail "the killed job had finished no task (kill came too early)"
mpi -n 2 "$OACIM" run "$work/sweep.yaml" --out "$work/sk" --quiet >/dev/null 2>&1 || fail "relaunch after the kill"
same_json "$work/s1/results.json" "$work/sk/results.json" "$work/s1" "$work/sk" || fail "relaunched sweep differs"
for f in $done_before; do
  log="$work/sk/logs/$(basename "${f%.json}").log"
  [ "$(grep -c '^\$ oacim' "$log")" -eq 1 ] || fail "$(basename "$f") was finished before the kill and ran again"
done

# ---- a worker rank killed: the job fails cleanly, the rerun (one process) finishes ----
mpi -n 3 "$OACIM" run "$work/sweep.yaml" --out "$work/sw" --quiet >/dev/null 2>"$work/sw.err" &
job=$!
for _ in $(seq 600); do
  [ "$(ls "$work"/sw/cache/*.json 2>/dev/null | wc -l)" -ge 1 ] && break
  sleep 0.05
done
victim=$(pgrep -f -- "run $work/sweep.yaml --out $work/sw" | while read -r p; do
  [ "$(tr '\0' '\n' </proc/"$p"/environ 2>/dev/null | grep -c '^OMPI_COMM_WORLD_RANK=2$')" -eq 1 ] && echo "$p"; done | head -n1)
if [ -n "$victim" ]; then
  kill -KILL "$victim"
  wait "$job"; rc=$?
  [ "$rc" -ne 0 ] || fail "the job went on with a dead rank (exit 0)"
else
  wait "$job"  # finished before a worker could be found; the rerun still has to agree
fi
"$OACIM" run "$work/sweep.yaml" --out "$work/sw" --quiet >/dev/null 2>&1 || fail "rerun after a rank died"
same_json "$work/s1/results.json" "$work/sw/results.json" "$work/s1" "$work/sw" || fail "rerun after a dead rank differs"

# ---- ranks that disagree: another config, another build; rank 0 says so once, exit 2 ----
sed 's/max_windows: 6/max_windows: 5/' "$work/sweep.yaml" >"$work/other.yaml"
cp "$work/sweep.yaml" "$work/same.yaml"
mpi -n 1 "$OACIM" run "$work/same.yaml" --out "$work/sd" : -n 2 "$OACIM" run "$work/other.yaml" --out "$work/sd" \
  >/dev/null 2>"$work/err"
[ $? -eq 2 ] || fail "ranks with different configs did not exit 2"
[ "$(grep -c 'reads a different' "$work/err")" -eq 1 ] || fail "config disagreement: $(cat "$work/err")"
commit=$("$OACIM" --version | sed -n 's/.*commit \([0-9a-f]*\).*/\1/p')
"$PYTHON" -c '
import sys
exe, out, commit = sys.argv[1:4]
b = open(exe, "rb").read()
assert b.count(commit.encode()) >= 1, "commit string not in the binary"
open(out, "wb").write(b.replace(commit.encode(), b"0" * len(commit)))
' "$OACIM" "$work/oacim-other" "$commit"
chmod +x "$work/oacim-other"
mpi -n 1 "$OACIM" run "$work/sweep.yaml" --out "$work/sv" : -n 1 "$work/oacim-other" run "$work/sweep.yaml" --out "$work/sv" \
  >/dev/null 2>"$work/err"
[ $? -eq 2 ] || fail "ranks of different builds did not exit 2"
grep -q "every rank must run the same build" "$work/err" || fail "build disagreement: $(cat "$work/err")"
[ ! -e "$work/sv/points" ] || fail "a job of disagreeing ranks wrote points"

[ "$fails" -eq 0 ] && echo "mpi cli: ok"
exit "$fails"
