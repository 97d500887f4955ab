#!/usr/bin/env bash
# `oacim quantize` end to end on the bundled stories260K: RTN and GPTQ/OA directories that
# `oacim eval` runs on fakequant and hw, the same bits on every run, the JSON report, and bad
# options with their exit codes.
set -u
# shellcheck source=../cli/lib.sh
source "${SRC:?source root}/tests/cli/lib.sh" "$@"
calib=(--calib "$text" --nsamples 4 --seqlen 128 --threads 1)

"$OACIM" quantize --model "$model" --method rtn --out "$work/rtn" --json "$work/rtn.json" >"$work/log" 2>&1 \
  || fail "rtn: $(cat "$work/log")"
for i in 1 2; do
  "$OACIM" quantize --model "$model" --method oa --outliers --offsets --qq-scale-bits 4 --qq-zero-bits 4 "${calib[@]}" \
    --out "$work/oa$i" --json "$work/oa$i.json" >"$work/log" 2>&1 || fail "oa run $i: $(cat "$work/log")"
done
cmp -s "$work/oa1/quantized.safetensors" "$work/oa2/quantized.safetensors" || fail "two OA runs wrote different bits"
"$OACIM" quantize --model "$model" --method gptq --act-order --static-groups --true-sequential "${calib[@]}" \
  --out "$work/gptq" >"$work/log" 2>&1 || fail "gptq: $(cat "$work/log")"
for d in rtn oa1 gptq; do
  for b in fakequant hw; do
    "$OACIM" eval --model "$work/$d" --dataset "$text" --seqlen 128 --max-windows 4 --backend $b --threads 1 \
      --json "$work/e_${d}_$b.json" >"$work/log" 2>&1 || fail "eval $d $b: $(cat "$work/log")"
  done
done
"$OACIM" eval --model "$model" --dataset "$text" --seqlen 128 --max-windows 4 --threads 1 --json "$work/e_fp.json" \
  >/dev/null 2>&1 || fail "eval fp"
"$PYTHON" - "$work" <<'PY' || fail "quantize JSON"
import json, sys
w = sys.argv[1]
oa = json.load(open(f"{w}/oa1.json"))
assert oa["options"]["method"] == "oa" and oa["options"]["qq_scale_bits"] == 4, oa["options"]
assert len(oa["layers"]) == 35, len(oa["layers"])
assert oa["outliers"] > 0 and oa["ones"] < oa["ones_before_offsets"], (oa["outliers"], oa["ones"], oa["ones_before_offsets"])
for l in oa["layers"]:
    assert 0 < l["output_error"] < 1 and l["bits_per_weight"] > 4, l
fp = json.load(open(f"{w}/e_fp.json"))["perplexity"]
for d in ("rtn", "oa1", "gptq"):
    fq = json.load(open(f"{w}/e_{d}_fakequant.json"))
    hw = json.load(open(f"{w}/e_{d}_hw.json"))
    assert fq["quantization"]["method"] == "quantized model directory", fq["quantization"]
    assert fp < fq["perplexity"] < 2 * fp, (d, fp, fq["perplexity"])
    assert abs(hw["perplexity"] / fq["perplexity"] - 1) < 0.02, (d, fq["perplexity"], hw["perplexity"])
    assert hw["hw_counters"]["outlier_hits"] > 0 or d != "oa1"
PY

# Self-generated calibration (docs/algorithms.md C.3): the same file for a seed, read by quantize.
for i in 1 2; do
  "$OACIM" calib --model "$model" --n 4 --len 128 --seed 3 --threads 1 --out "$work/cal$i.safetensors" >"$work/log" 2>&1 \
    || fail "calib run $i: $(cat "$work/log")"
done
cmp -s "$work/cal1.safetensors" "$work/cal2.safetensors" || fail "two calib runs with one seed wrote different files"
"$OACIM" quantize --model "$model" --method gptq --calib "$work/cal1.safetensors" --nsamples 4 --seqlen 128 --threads 1 \
  --out "$work/gptq_cal" --json "$work/gptq_cal.json" >"$work/log" 2>&1 || fail "gptq on a calib file: $(cat "$work/log")"
"$PYTHON" -c "
import json, sys; d = json.load(open('$work/gptq_cal.json'))
assert d['windows'] == 4 and d['options']['calib'].endswith('cal1.safetensors'), d['windows']" || fail "gptq_cal JSON"
# Long runs keep finished blocks: --max-blocks stops after two blocks, a rerun resumes; a run
# killed at any point and rerun writes the same bits as an unbroken run.
args=(--model "$model" --method oa --outliers --offsets --calib "$work/cal1.safetensors" --nsamples 4 --seqlen 128 --threads 1)
"$OACIM" quantize "${args[@]}" --out "$work/whole" >"$work/log" 2>&1 || fail "whole: $(cat "$work/log")"
"$OACIM" quantize "${args[@]}" --out "$work/sliced" --max-blocks 2 >"$work/log" 2>&1 || fail "slice 1: $(cat "$work/log")"
grep -q "stopped after block 2/5" "$work/log" || fail "slice 1 did not say where it stopped: $(cat "$work/log")"
[ -e "$work/sliced/partial/block-0001.safetensors" ] && [ ! -e "$work/sliced/partial/block-0002.safetensors" ] \
  && [ ! -e "$work/sliced/quantized.safetensors" ] || fail "slice 1 checkpoints: $(ls -R "$work/sliced")"
expect_rc 2 "partial run" quantize "${args[@]}" --block-size 64 --out "$work/sliced"
"$OACIM" quantize "${args[@]}" --out "$work/sliced" --json "$work/sliced.json" >"$work/log" 2>&1 || fail "resume: $(cat "$work/log")"
grep -q "resuming after block 2/5" "$work/log" || fail "the rerun did not resume: $(cat "$work/log")"
cmp -s "$work/whole/quantized.safetensors" "$work/sliced/quantized.safetensors" || fail "a resumed run wrote other bits"
[ ! -e "$work/sliced/partial" ] || fail "checkpoints left after the run finished"
"$PYTHON" -c "
import json; d = json.load(open('$work/sliced.json'))
assert d['resumed_blocks'] == 2 and len(d['layers']) == 35, (d['resumed_blocks'], len(d['layers']))" || fail "resumed JSON"
"$OACIM" quantize "${args[@]}" --out "$work/killed" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do [ -e "$work/killed/partial/block-0000.safetensors" ] && break; sleep 0.02; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$OACIM" quantize "${args[@]}" --out "$work/killed" >"$work/log" 2>&1 || fail "rerun after kill: $(cat "$work/log")"
cmp -s "$work/whole/quantized.safetensors" "$work/killed/quantized.safetensors" || fail "a killed and rerun run wrote other bits"

expect_rc 2 "fewer than 5" quantize --model "$model" --method gptq --calib "$work/cal1.safetensors" --nsamples 5 --out "$work/x"
expect_rc 2 "--n" calib --model "$model" --n 0 --out "$work/x.safetensors"
expect_rc 2 "--seqlen" calib --model "$model" --len 9999 --out "$work/x.safetensors"
expect_rc 2 "not a valid regex" calib --model "$model" --first-token-regex "([" --out "$work/x.safetensors"
expect_rc 2 "pass the filters" calib --model "$model" --n 4 --first-token-regex "^ Tim$" --out "$work/x.safetensors"
expect_rc 2 "--greedy" calib --model "$model" --greedy "3,x" --out "$work/x.safetensors"
expect_rc 2 "does not exist" calib --model "$model" --out "$work/no/such/dir/x.safetensors"
expect_rc 2 "already quantized" calib --model "$work/rtn" --out "$work/x.safetensors"
[ ! -e "$work/x.safetensors" ] || fail "a failed calib left its output behind"

expect_rc 2 "method" quantize --model "$model" --method bogus --out "$work/x"
expect_rc 2 "wbits" quantize --model "$model" --method rtn --wbits 5 --out "$work/x"
expect_rc 2 "block-size: 6 must be a positive multiple of 4" quantize --model "$model" --method rtn --block-size 6 --out "$work/x"
expect_rc 2 "act-order" quantize --model "$model" --method oa --act-order --out "$work/x"
expect_rc 2 "act-order" quantize --model "$model" --method gptq --act-order --out "$work/x"
expect_rc 2 "outliers" quantize --model "$model" --method gptq --outliers --out "$work/x"
expect_rc 2 "out" quantize --model "$model" --method rtn
expect_rc 2 "offset-sign" quantize --model "$model" --method oa --offsets --offset-sign up --out "$work/x"
expect_rc 2 "already quantized" quantize --model "$work/rtn" --method rtn --out "$work/x"
expect_rc 1 "missing.txt" quantize --model "$model" --method gptq --calib "$work/missing.txt" --out "$work/x"
expect_rc 2 "dq-warmup" quantize --model "$model" --method discquant --dq-steps 4 --dq-warmup 4 --out "$work/x"
expect_rc 2 "dq-init" quantize --model "$model" --method discquant --dq-init zeros --out "$work/x"
expect_rc 2 "max-blocks" quantize --model "$model" --method discquant --max-blocks 1 --out "$work/x"
expect_rc 2 "incoherence" quantize --model "$model" --method rtn --incoherence rotate --out "$work/x"
[ ! -e "$work/x" ] || fail "a failed run left $work/x behind"

# DiscQuant end to end (a few steps), with Hadamard incoherence; the result runs on every backend.
"$OACIM" quantize --model "$model" --method discquant --wbits 3 --outliers --incoherence hadamard --calib self \
  --nsamples 4 --seqlen 64 --dq-steps 6 --dq-warmup 2 --dq-log-every 2 --out "$work/dq" --json "$work/dq.json" \
  >"$work/dq.out" 2>"$work/dq.err" || fail "discquant: $(tail -3 "$work/dq.err")"
grep -q "discquant step 6/6" "$work/dq.err" || fail "discquant progress: $(tail -3 "$work/dq.err")"
grep -q "KL to the float model" "$work/dq.out" || fail "discquant summary: $(cat "$work/dq.out")"
"$PYTHON" - "$work/dq.json" "$work/dq/quantized.safetensors" <<'PY' || fail "discquant JSON / stored rotation"
import json, struct, sys
d = json.load(open(sys.argv[1]))
assert d["options"]["method"] == "discquant" and d["options"]["discquant"]["steps"] == 6
assert d["options"]["incoherence"] == "hadamard"
assert [s["step"] for s in d["discquant"]["steps"]] == [0, 2, 4, 5]
assert d["discquant"]["delta2"] > 0 and d["discquant"]["kl_rtn"] > 0
assert d["incoherence"]["rotated_both"] == 20, d["incoherence"]
assert all(l["output_error"] is None for l in d["layers"])  # no Hessian
raw = open(sys.argv[2], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
signs = [k for k in header if k.endswith(".incoherence.sign_in")]
assert len(signs) == 30, len(signs)  # every Linear but w2 (172 inputs)
PY
# DiscQuant resume: stopped twice (--dq-stop-after) and resumed, the same bytes as an unbroken run.
"$OACIM" calib --model "$model" --n 4 --len 64 --seed 1 --out "$work/dqc.safetensors" >/dev/null 2>&1 || fail "calib for discquant"
dq_opts=(--model "$model" --method discquant --wbits 3 --calib "$work/dqc.safetensors" --nsamples 4 --seqlen 64
  --dq-steps 10 --dq-warmup 2 --dq-checkpoint-every 3 --dq-blocks-at-once 3)
"$OACIM" quantize "${dq_opts[@]}" --out "$work/dq-whole" >/dev/null 2>&1 || fail "discquant unbroken run"
"$OACIM" quantize "${dq_opts[@]}" --dq-stop-after 4 --out "$work/dq-split" >"$work/dq-s1.out" 2>&1 || fail "discquant stop 1"
grep -q "stopped (--dq-stop-after)" "$work/dq-s1.out" || fail "discquant stop message: $(tail -2 "$work/dq-s1.out")"
[ -f "$work/dq-split/partial/discquant.safetensors" ] || fail "no discquant checkpoint after a stop"
"$OACIM" quantize "${dq_opts[@]}" --dq-stop-after 9 --out "$work/dq-split" >"$work/dq-s2.out" 2>&1 || fail "discquant stop 2"
grep -q "resuming after step 4/20" "$work/dq-s2.out" || fail "discquant resume message: $(grep resum "$work/dq-s2.out")"
"$OACIM" quantize "${dq_opts[@]}" --out "$work/dq-split" >"$work/dq-s3.out" 2>&1 || fail "discquant final"
grep -q "resuming after step 13/20" "$work/dq-s3.out" || fail "discquant second resume: $(grep resum "$work/dq-s3.out")"
cmp -s "$work/dq-whole/quantized.safetensors" "$work/dq-split/quantized.safetensors" ||
  fail "a stopped and resumed DiscQuant run differs from an unbroken one"
[ ! -e "$work/dq-split/partial" ] || fail "partial/ left behind after the DiscQuant run finished"
# A checkpoint of other options (4 bits instead of 3) is refused by name, not mixed in.
"$OACIM" quantize "${dq_opts[@]}" --dq-stop-after 2 --out "$work/dq-mixed" >/dev/null 2>&1
expect_rc 1 "another model or other options" quantize --model "$model" --method discquant --wbits 4 \
  --calib "$work/dqc.safetensors" --nsamples 4 --seqlen 64 --dq-steps 10 --dq-warmup 2 --dq-blocks-at-once 3 --out "$work/dq-mixed"

# systemc: the co-simulated layers see the rotated inputs and must still agree bit for bit.
for b in fakequant hw systemc; do
  "$OACIM" eval --model "$work/dq" --dataset "$text" --seqlen 128 --max-windows 2 --backend $b >"$work/dq-eval.out" 2>&1 ||
    fail "eval $b of the discquant model: $(tail -2 "$work/dq-eval.out")"
done

# GPTQ export writes a Hugging Face checkpoint: a llama2.c source is refused before anything is written.
expect_rc 2 "is not a Hugging Face directory" export --quantized "$work/rtn" --out "$work/gptq-export"
[ ! -e "$work/gptq-export" ] || fail "a refused export left $work/gptq-export behind"

echo "quantize cli: $fails failure(s)"
[ "$fails" -eq 0 ]
