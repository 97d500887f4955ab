#!/usr/bin/env bash
# `oacim tweak` end to end on the bundled stories260K: a self-generated calibration file, an RTN
# directory tweaked on fakequant and on hw, a grid chosen on held-out samples, the tweaked
# directory evaluated, the same bits twice, and bad options with their exit codes.
set -u
# shellcheck source=../cli/lib.sh
source "${SRC:?source root}/tests/cli/lib.sh" "$@"

"$OACIM" calib --model "$model" --n 8 --len 96 --seed 1 --threads 1 --out "$work/cal.safetensors" >"$work/log" 2>&1 \
  || fail "calib: $(cat "$work/log")"
"$OACIM" quantize --model "$model" --method rtn --wbits 3 --out "$work/rtn" >"$work/log" 2>&1 || fail "rtn: $(cat "$work/log")"
for i in 1 2; do
  "$OACIM" tweak --model "$model" --quantized "$work/rtn" --calib "$work/cal.safetensors" --lr 1e-3 --threads 1 \
    --out "$work/t$i" --json "$work/t$i.json" >"$work/log" 2>&1 || fail "tweak run $i: $(cat "$work/log")"
done
cmp -s "$work/t1/quantized.safetensors" "$work/t2/quantized.safetensors" || fail "two tweak runs wrote different bits"
"$OACIM" tweak --quantized "$work/rtn" --calib "$work/cal.safetensors" --grid-lr 0,1e-3 --grid-scale 0,5 --backend hw \
  --threads 1 --out "$work/grid" --json "$work/grid.json" >"$work/log" 2>&1 || fail "tweak grid on hw: $(cat "$work/log")"
# A killed grid resumes from its finished points and writes the same bits as an unbroken run.
grid_args=(--quantized "$work/rtn" --calib "$work/cal.safetensors" --grid-lr 0,1e-3 --grid-scale 0,5 --backend hw --threads 1)
"$OACIM" tweak "${grid_args[@]}" --out "$work/killed" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do [ -e "$work/killed/partial/point-000.safetensors" ] && break; sleep 0.02; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$OACIM" tweak "${grid_args[@]}" --out "$work/killed" --json "$work/killed.json" >"$work/log" 2>&1 || fail "rerun after kill: $(cat "$work/log")"
cmp -s "$work/grid/quantized.safetensors" "$work/killed/quantized.safetensors" || fail "a killed and rerun grid wrote other bits"
[ ! -e "$work/killed/partial" ] || fail "tweak checkpoints left after the run finished"
mkdir -p "$work/other/partial" && cp "$work/cal.safetensors" "$work/other/partial/point-000.safetensors"
expect_rc 1 "not an oacim tweak checkpoint" tweak "${grid_args[@]}" --out "$work/other"
"$OACIM" tweak "${grid_args[@]}" --out "$work/sliced" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do [ -e "$work/sliced/partial/point-000.safetensors" ] && break; sleep 0.02; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -e "$work/sliced/partial/point-000.safetensors" ]; then
  expect_rc 2 "partial tweak run" tweak "${grid_args[@]}" --iters 2 --out "$work/sliced"
fi
for d in rtn t1 grid; do
  "$OACIM" eval --model "$work/$d" --dataset "$text" --seqlen 128 --max-windows 4 --backend fakequant --threads 1 \
    --json "$work/e_$d.json" >"$work/log" 2>&1 || fail "eval $d: $(cat "$work/log")"
done
"$PYTHON" - "$work" <<'PY' || fail "tweak JSON"
import json, math, sys
w = sys.argv[1]
t = json.load(open(f"{w}/t1.json"))
assert t["options"]["lr"] == 1e-3 and t["heldout_samples"] == 0 and t["tweak_samples"] == 8, t
assert len(t["points"]) == 1 and len(t["points"][0]["blocks"]) == 5, t["points"]
assert t["baseline_heldout_ppl"] is None
g = json.load(open(f"{w}/grid.json"))
assert len(g["points"]) == 4 and g["heldout_samples"] == 1 and g["tweak_samples"] == 7, g
sel = [p["select_ppl"] for p in g["points"]]
assert sel[g["best"]] == min(sel), sel
zero = [p for p in g["points"] if p["lr"] == 0]
assert all(abs(p["heldout_ppl"] - g["baseline_heldout_ppl"]) < 1e-9 for p in zero), (zero, g["baseline_heldout_ppl"])
assert all(b["loss_after"] == b["loss_before"] for p in zero for b in p["blocks"])
assert g["options"]["backend"] == "hw"
for d in ("rtn", "t1", "grid"):
    assert math.isfinite(json.load(open(f"{w}/e_{d}.json"))["perplexity"])
assert json.load(open(f"{w}/e_t1.json"))["perplexity"] != json.load(open(f"{w}/e_rtn.json"))["perplexity"]
PY

expect_rc 2 "already norm-tweaked" tweak --quantized "$work/t1" --calib "$work/cal.safetensors" --out "$work/x"
expect_rc 2 "not a quantized model directory" tweak --quantized "$model" --calib "$work/cal.safetensors" --out "$work/x"
expect_rc 2 "not a token sample file" tweak --quantized "$work/rtn" --calib "$text" --out "$work/x"
expect_rc 2 "--lr" tweak --quantized "$work/rtn" --calib "$work/cal.safetensors" --lr -1 --out "$work/x"
expect_rc 2 "--grid-lr" tweak --quantized "$work/rtn" --calib "$work/cal.safetensors" --grid-lr 1e-5,x --out "$work/x"
expect_rc 2 "--backend" tweak --quantized "$work/rtn" --calib "$work/cal.safetensors" --backend float --out "$work/x"
expect_rc 2 "--heldout" tweak --quantized "$work/rtn" --calib "$work/cal.safetensors" --grid-lr 0,1e-3 --heldout 0 --out "$work/x"
expect_rc 2 "--heldout" tweak --quantized "$work/rtn" --calib "$work/cal.safetensors" --heldout 8 --out "$work/x"
expect_rc 2 "--iters" tweak --quantized "$work/rtn" --calib "$work/cal.safetensors" --iters 0 --out "$work/x"
expect_rc 2 "was quantized from" tweak --model "$text" --quantized "$work/rtn" --calib "$work/cal.safetensors" --out "$work/x"
[ ! -e "$work/x" ] || fail "a failed tweak left $work/x behind"

echo "tweak cli: $fails failure(s)"
[ "$fails" -eq 0 ]
