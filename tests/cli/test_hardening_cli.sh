#!/usr/bin/env bash
# Hostile and mistaken inputs through the CLI, each a finding of a hardening pass: a quantized
# directory whose source leads back to itself, non-finite weights (refused with the tensor named,
# and a sweep over such a model still finishes with an error point), directories and devices
# given as configs, unbounded counts, a damaged token file, control bytes in messages, Linear
# names that do not exist, the float run of a quantized directory, ruinous offsets.
set -u
# shellcheck source=../cli/lib.sh
source "${SRC:?source root}/tests/cli/lib.sh" "$@"
cd "$SRC"
common=(--dataset "$text" --seqlen 64 --max-windows 2 --threads 1)

# A copy of a safetensors file with one metadata value replaced (the header is rewritten whole).
set_metadata() {
  "$PYTHON" - "$1" "$2" "$3" <<'PY'
import json, struct, sys
path, key, value = sys.argv[1:]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
header["__metadata__"][key] = value
data = raw[8 + n:]
# Tensor offsets are relative to the data section, so only the header changes.
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
PY
}

# ---- 1. A quantized directory whose source model is itself (or another quantized directory) ----
"$OACIM" quantize --model "$model" --method rtn --out "$work/rtn" --threads 1 >"$work/log" 2>&1 || fail "quantize: $(cat "$work/log")"
cp -r "$work/rtn" "$work/loop"
set_metadata "$work/loop/quantized.safetensors" oacim.source_model "$work/loop"
expect_rc 1 "is itself a quantized directory" eval --model "$work/loop" "${common[@]}"
cp -r "$work/rtn" "$work/chain"
set_metadata "$work/chain/quantized.safetensors" oacim.source_model "$work/rtn"
expect_rc 1 "is itself a quantized directory" eval --model "$work/chain" "${common[@]}"

# ---- 2. Non-finite weights: refused by name; a sweep over such a model ends with an error point ----
"$PYTHON" - "$model" "$work/inf.bin" <<'PY'
import struct, sys
raw = bytearray(open(sys.argv[1], "rb").read())
dim, vocab = 64, 512
rms_att = 28 + vocab * dim * 4           # after the header and the token embeddings
raw[rms_att + 4 * 3: rms_att + 4 * 4] = struct.pack("<f", float("inf"))
open(sys.argv[2], "wb").write(raw)
PY
cp "$SRC/tests/data/stories260K/tok512.bin" "$work/tok512.bin"
expect_rc 1 "tensor 'rms_att_weight' holds +inf at index 3" eval --model "$work/inf.bin" "${common[@]}"
cat >"$work/inf.yaml" <<EOF
model: $work/inf.bin
datasets: [$text]
eval: {seqlen: 64, max_windows: 2}
quantization: {method: rtn}
backends: [float, fakequant]
EOF
timeout 300 "$OACIM" run "$work/inf.yaml" --out "$work/inf_run" --quiet >"$work/run.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "run over a model with an Inf weight exited $rc, expected 1 (an error point): $(cat "$work/run.log")"
"$PYTHON" - "$work/inf_run/results.json" <<'PY' || fail "results.json of the Inf model"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["verdict"] == "error" and r["summary"]["error"] == 1, r["summary"]
assert "holds +inf" in r["points"][0]["error"], r["points"][0]["error"]
PY
[ -s "$work/inf_run/report.html" ] || fail "no report for a sweep with an error point"

# ---- 3. Directories and devices are no configs; sizes are bounded ----
expect_rc 2 "is a directory" hw-config "$work"
expect_rc 2 "is a directory" eval --model "$model" "${common[@]}" --backend hw --hw "$work"
expect_rc 2 "is a directory" cosim --hw "$work" --random 8x64x1
start=$(date +%s)
expect_rc 2 "not a regular file" hw-config /dev/zero
[ $(($(date +%s) - start)) -lt 5 ] || fail "hw-config /dev/zero took $(($(date +%s) - start)) s"
expect_rc 2 "is a directory" run "$work" --check
expect_rc 2 "threads" eval --model "$model" "${common[@]}" --threads 100000
expect_rc 2 "--max-windows: must be in" eval --model "$model" --dataset "$text" --max-windows -1
expect_rc 2 "--nsamples: must be in" quantize --model "$model" --method gptq --nsamples 1000000000 --out "$work/x"

# ---- 4. A damaged token file is refused, not read as text ----
"$OACIM" calib --model "$model" --n 4 --len 64 --out "$work/cal.safetensors" --threads 1 >/dev/null 2>&1 || fail "calib"
head -c 400 "$work/cal.safetensors" >"$work/cut.safetensors"
"$OACIM" quantize --model "$model" --method gptq --calib "$work/cut.safetensors" --nsamples 4 --out "$work/x" \
  --threads 1 >"$work/out" 2>"$work/err"
rc=$?
[ "$rc" -ne 0 ] || fail "a truncated token file was used: $(cat "$work/out")"
grep -q "cut.safetensors" "$work/err" || fail "the error does not name the token file: $(cat "$work/err")"

# ---- 5. Control bytes from input are escaped: one line ----
printf 'model: %s\ndatasets: [%s]\nquan\001tization:\n  wbits: 4\n' "$model" "$text" >"$work/ctl.yaml"
expect_rc 2 'quan\\x01tization' run "$work/ctl.yaml" --check

# ---- 6. systemc.layers must name Linears of the model, checked before anything runs ----
printf 'model: %s\ndatasets: [%s]\nbackends: [float, systemc]\nsystemc:\n  layers: [layers.0.attention.wq, layers.9.nope]\n' \
  "$model" "$text" >"$work/layers.yaml"
expect_rc 2 "systemc.layers: 'layers.9.nope' is not a block Linear" run "$work/layers.yaml" --check

# ---- 7. A quantized directory evaluates its stored weights by default; its float run says so ----
"$OACIM" eval --model "$work/rtn" "${common[@]}" --json "$work/auto.json" >"$work/auto.log" 2>&1 || fail "eval auto: $(cat "$work/auto.log")"
"$OACIM" eval --model "$work/rtn" "${common[@]}" --backend fakequant --json "$work/fq.json" >/dev/null 2>&1 || fail "eval fq"
"$OACIM" eval --model "$work/rtn" "${common[@]}" --backend float --json "$work/fl.json" >"$work/fl.log" 2>&1 || fail "eval float"
grep -q "UNQUANTIZED" "$work/fl.log" || fail "the float run of a quantized directory does not say so: $(cat "$work/fl.log")"
"$PYTHON" - "$work" <<'PY' || fail "eval of a quantized directory"
import json, sys
w = sys.argv[1]
a, q, f = (json.load(open(f"{w}/{n}.json")) for n in ("auto", "fq", "fl"))
assert a["backend"] == "fakequant" and a["perplexity"] == q["perplexity"], (a["backend"], a["perplexity"], q["perplexity"])
assert f["backend"] == "float" and "unquantized" in f["weights"], f
assert f["perplexity"] < q["perplexity"]
PY

# ---- 8. Offsets the popcount minimiser would ruin accuracy with are refused with the measured reason ----
expect_rc 2 "--max-offset: 7 with offset_sign minimise" quantize --model "$model" --method oa --outliers --offsets \
  --max-offset 7 --out "$work/x"

echo "hardening: $fails failure(s)"
[ "$fails" -eq 0 ]
