#!/usr/bin/env bash
# oacim run / report / compare end to end on the bundled model: config errors before anything
# runs, a runner killed with SIGKILL after its first point and rerun (nothing finished is
# recomputed or lost), SIGTERM, an error point that does not stop the sweep, a failed threshold's
# exit code, report regeneration and compare.
set -u
source "${SRC:?}/tests/cli/lib.sh" "$@"
cd "$SRC"  # experiment files name the bundled model relative to the source root

# ---- config errors: exit 2, one line naming file:line and key, no output directory ----
cat >"$work/bad.yaml" <<EOF
model: $model
datasets: [$text]
quantization:
  wbits: [4, 9]
EOF
expect_rc 2 "bad.yaml:4: quantization.wbits: must be in \[2, 4\]" run "$work/bad.yaml" --out "$work/never"
[ ! -e "$work/never" ] || fail "a rejected config created its output directory"
printf 'model: %s\ndatasets: [%s]\nhardware:\n  set:\n    macro.rows: 16\nquantization:\n  block_size: 32\n' "$model" "$text" >"$work/fit.yaml"
expect_rc 2 "fit.yaml:7: quantization.block_size: point 1 (default): macro.rows" run "$work/fit.yaml" --check
expect_rc 2 "no such experiment file" run "$work/missing.yaml" --out "$work/never"
expect_rc 2 "unrecognised option\|unrecognized option" run "$work/bad.yaml" --jbos 2
"$OACIM" run --schema | grep -q '| `quantization.wbits` | integer \[2, 4\] | `4` |' || fail "run --schema lacks quantization.wbits"

# ---- a three-point sweep over the datapath's input mantissa; RTN needs no calibration ----
cat >"$work/sweep.yaml" <<EOF
name: resume test
model: $model
datasets: [$text]
eval: {seqlen: 128, max_windows: 3}
quantization: {method: rtn, outliers: true}
hardware:
  set:
    input.mantissa_bits: [6, 7, 8]
backends: [float, fakequant, hw]
EOF
"$OACIM" run "$work/sweep.yaml" --check >"$work/check.txt" || fail "run --check"
grep -q "valid, 3 points" "$work/check.txt" || fail "--check: $(cat "$work/check.txt")"
grep -q "3  input.mantissa_bits=8" "$work/check.txt" || fail "--check labels: $(cat "$work/check.txt")"

run_dir="$work/run"
"$OACIM" run "$work/sweep.yaml" --out "$run_dir" --jobs 1 >"$work/run1.out" 2>"$work/run1.err" &
pid=$!
for _ in $(seq 1 600); do
  [ -n "$(ls "$run_dir/points" 2>/dev/null)" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
n_first=$(ls "$run_dir/points" | wc -l)
[ "$n_first" -ge 1 ] || fail "no point finished before the kill: $(cat "$work/run1.err")"
[ "$n_first" -lt 3 ] || fail "the runner finished every point before it was killed; the test proves nothing"
sleep 0.5
pgrep -f "$run_dir/cache" >/dev/null && fail "a task outlived the killed runner"
# What had finished: point files and task outputs, with their checksums.
(cd "$run_dir" && md5sum points/*.json cache/*.json) >"$work/before.md5"
"$OACIM" run "$work/sweep.yaml" --out "$run_dir" --jobs 2 >"$work/run2.out" 2>"$work/run2.err" || fail "rerun: $(cat "$work/run2.err")"
grep -q "($n_first finished earlier)" "$work/run2.err" || fail "rerun did not skip the finished point(s): $(head -3 "$work/run2.err")"
(cd "$run_dir" && md5sum -c --quiet "$work/before.md5") || fail "finished work was rewritten by the rerun"
# No finished task ran again: its log holds one command line.
while read -r _ file; do
  case "$file" in cache/*.json) ;; *) continue ;; esac
  id=$(basename "$file" .json)
  [ "$(grep -c '^\$ oacim' "$run_dir/logs/$id.log")" -eq 1 ] || fail "task $id ran again after the resume"
done <"$work/before.md5"
# One float pass serves every backend: one cached reference, every quantized eval read it.
[ "$(ls "$run_dir"/cache/float-reference/*.safetensors | wc -l)" -eq 1 ] || fail "not one float reference: $(ls "$run_dir/cache/float-reference")"
for log in $(grep -l -e '--backend \(fakequant\|hw\)' "$run_dir"/logs/eval-*.log); do
  grep -q "reference read from the cache" "$log" || fail "$log computed its own float reference"
done
"$PYTHON" - "$run_dir/results.json" <<'PY' || fail "results.json after the resume"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["complete"] and r["verdict"] in ("pass", "fail"), r["verdict"]
assert [p["index"] for p in r["points"]] == [0, 1, 2]
assert len({p["id"] for p in r["points"]}) == 3
fq = {p["datasets"][0]["fakequant"]["perplexity"] for p in r["points"]}
fl = {p["datasets"][0]["float"]["perplexity"] for p in r["points"]}
assert len(fq) == 1 and len(fl) == 1, "shared float/fakequant runs must give one number"
hw = [p["datasets"][0]["hw"]["perplexity"] for p in r["points"]]
assert len(set(hw)) == 3, hw  # three datapaths, three answers
for p in r["points"]:
    assert p["hw_counters"]["macs"] > 0
    d = p["datasets"][0]
    assert d["float"]["vs_float"]["kld_mean"] == 0 and d["float"]["vs_float"]["top1_agreement_pct"] == 100
    assert d["hw"]["vs_float"]["kld_mean"] > 0 and d["hw"]["perplexity_se"] > 0
    lo, hi = d["hw_vs_fakequant"]["ppl_pct_ci95"]
    assert lo <= d["hw_vs_fakequant"]["ppl_pct"] <= hi, d["hw_vs_fakequant"]
for key in ("tool", "machine", "experiment", "hw_configs"):
    assert r[key], key
assert r["tool"]["commit"]
PY
for f in results.csv report.md report.html; do [ -s "$run_dir/$f" ] || fail "$f missing"; done
# A third run recomputes nothing at all.
"$OACIM" run "$work/sweep.yaml" --out "$run_dir" >"$work/run3.out" 2>"$work/run3.err" || true
grep -q "3 points (3 finished earlier), 0 tasks to run" "$work/run3.err" || fail "third run: $(head -2 "$work/run3.err")"

# ---- oacim report regenerates the same bytes; compare ----
cp "$run_dir/report.md" "$work/report.md.before"
cp "$run_dir/report.html" "$work/report.html.before"
"$OACIM" report "$run_dir" >/dev/null || fail "oacim report"
cmp -s "$run_dir/report.md" "$work/report.md.before" || fail "oacim report changed report.md"
cmp -s "$run_dir/report.html" "$work/report.html.before" || fail "oacim report changed report.html"
"$OACIM" compare "$run_dir" "$run_dir" >"$work/cmp.out" || fail "compare of a run with itself exited $?"
grep -q "No differences" "$work/cmp.out" || fail "compare: $(cat "$work/cmp.out")"
mkdir -p "$work/worse"
"$PYTHON" - "$run_dir/results.json" "$work/worse/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["points"][1]["datasets"][0]["hw"]["perplexity"] *= 1.02
json.dump(r, open(sys.argv[2], "w"))
PY
"$OACIM" compare "$run_dir" "$work/worse" --tolerance 0.5 >"$work/cmp2.out"
[ $? -eq 3 ] || fail "compare did not exit 3 on a 2 % perplexity rise"
grep -q "regression" "$work/cmp2.out" || fail "compare: $(cat "$work/cmp2.out")"
expect_rc 1 "no results.json here" report "$work/never"

# ---- an error point does not stop the sweep; a failed threshold exits 3 ----
cat >"$work/mixed.yaml" <<EOF
model: $model
datasets: [$text]
eval: {seqlen: [128, 1024], max_windows: 2}
quantization: {method: rtn}
backends: [float, fakequant]
EOF
"$OACIM" run "$work/mixed.yaml" --out "$work/mixed" --quiet >/dev/null 2>&1
[ $? -eq 1 ] || fail "a sweep with an error point must exit 1"
"$PYTHON" - "$work/mixed/results.json" <<'PY' || fail "error point in results.json"
import json, sys
r = json.load(open(sys.argv[1]))
ok, bad = r["points"]
assert ok["status"] == "ok" and ok["datasets"][0]["fakequant"]["perplexity"] > 1
assert bad["status"] == "error" and "exceeds the model's 512 positions" in bad["error"], bad["error"]
assert r["verdict"] == "error"
PY
cat >"$work/strict.yaml" <<EOF
model: $model
datasets: [$text]
eval: {seqlen: 128, max_windows: 2}
quantization: {method: rtn}
backends: [float, fakequant]
thresholds: {fakequant_vs_float_ppl_pct: 0}
EOF
"$OACIM" run "$work/strict.yaml" --out "$work/strict" --quiet >/dev/null 2>&1
[ $? -eq 3 ] || fail "a failed threshold must exit 3"
grep -q "Verdict: FAIL" "$work/strict/report.md" || fail "report.md of a failed threshold"

# ---- norm tweaking in a sweep: self-generated calibration -> RTN -> tweak -> eval ----
cat >"$work/tweak.yaml" <<EOF
model: $model
datasets: [$text]
eval: {seqlen: 128, max_windows: 2}
calibration: {nsamples: 4, seqlen: 64}
quantization: {method: rtn, wbits: 3}
normtweak: {enabled: [false, true], lr: 1e-4}
backends: [fakequant]
EOF
"$OACIM" run "$work/tweak.yaml" --out "$work/tweak" --quiet >/dev/null 2>&1 || fail "norm-tweak sweep"
"$PYTHON" - "$work/tweak/results.json" <<'PY' || fail "norm-tweak results"
import json, sys
plain, tweaked = json.load(open(sys.argv[1]))["points"]
assert plain["tweak"] is None and tweaked["tweak"]["lr"] == 1e-4, tweaked["tweak"]
a = plain["datasets"][0]["fakequant"]["perplexity"]
b = tweaked["datasets"][0]["fakequant"]["perplexity"]
assert a != b, "the tweaked model must be evaluated, not the plain one"
assert any(t.startswith("tweak-") for t in tweaked["tasks"]) and any(t.startswith("calib-") for t in tweaked["tasks"])
PY

# ---- SIGTERM: children stopped, exit 130, a rerun finishes ----
cat >"$work/term.yaml" <<EOF
model: $model
datasets: [$text]
eval: {seqlen: 256}
quantization: {method: rtn}
backends: [float, fakequant]
EOF
"$OACIM" run "$work/term.yaml" --out "$work/term" >/dev/null 2>"$work/term.err" &
pid=$!
for _ in $(seq 1 100); do grep -q "start" "$work/term.err" 2>/dev/null && break; sleep 0.1; done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "SIGTERM: exit $rc, expected 130"
grep -q "interrupted" "$work/term.err" || fail "SIGTERM message: $(cat "$work/term.err")"
"$OACIM" run "$work/term.yaml" --out "$work/term" --quiet >/dev/null 2>&1 || fail "rerun after SIGTERM"

[ "$fails" -eq 0 ] && echo "run CLI: all checks passed"
exit "$fails"
