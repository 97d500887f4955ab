#!/usr/bin/env bash
# `oacim eval` end to end on the bundled stories260K: the same number on every run, JSON fields,
# the hw backend with a shipped config, and every class of bad input with its exit code.
set -u
# shellcheck source=../cli/lib.sh
source "${SRC:?source root}/tests/cli/lib.sh" "$@"
common=(--model "$model" --dataset "$text" --seqlen 128 --max-windows 6 --threads 1)

for i in 1 2; do
  "$OACIM" eval "${common[@]}" --json "$work/f$i.json" >"$work/f$i.log" 2>&1 || fail "eval float run $i: $(cat "$work/f$i.log")"
done
"$OACIM" eval "${common[@]}" --backend hw --hw "$SRC/configs/hw/oacim-narrow.yaml" --outliers --offsets \
  --json "$work/h.json" >"$work/h.log" 2>&1 || fail "eval hw: $(cat "$work/h.log")"
# Block-streamed evaluation gives the bits of window by window.
"$OACIM" eval "${common[@]}" --backend hw --hw "$SRC/configs/hw/oacim-narrow.yaml" --outliers --offsets \
  --stream-blocks-mib 1 --json "$work/hs.json" >"$work/hs.log" 2>&1 || fail "eval hw streamed: $(cat "$work/hs.log")"
"$PYTHON" - "$work" <<'PY' || fail "eval JSON"
import json, math, sys
w = sys.argv[1]
a, b, h = (json.load(open(f"{w}/{n}.json")) for n in ("f1", "f2", "h"))
hs = json.load(open(f"{w}/hs.json"))
assert hs["perplexity"] == h["perplexity"] and hs["hw_counters"] == h["hw_counters"], (hs["perplexity"], h["perplexity"])
assert a["perplexity"] == b["perplexity"], (a["perplexity"], b["perplexity"])
assert a["windows"] == 6 and a["seqlen"] == 128 and a["tokens"] == 768, a
assert 1.0 < a["perplexity"] < 20.0 and math.isfinite(h["perplexity"])
assert h["perplexity"] > a["perplexity"]
assert h["hw_config"]["name"] == "oacim-narrow"
assert h["hw_counters"]["tokens"] == 768 * 35 and h["quantization"]["offsets"] is True
# Per layer: the 35 chip Linears, whose events add up to the model's; energy per token through the model.
assert len(h["hw_layers"]) == 35 and h["hw_layers"][0]["layer"] == "layers.0.attention.wq", h["hw_layers"][:1]
for k in ("cell_activations", "cycles", "tile_loads"):
    assert sum(l["counters"][k] for l in h["hw_layers"]) == h["hw_counters"][k], k
assert h["energy"]["model_tokens"] == 768 and not h["energy"]["complete"]
assert abs(h["latency"]["cycles_per_token"] - h["hw_counters"]["cycles"] / 768) < 1e-9
assert "tool" in a and a["tool"]["commit"]
PY

# A run killed with SIGKILL after its first windows and started again with the same checkpoint:
# the numbers of an unbroken run, the finished windows read back (all of them if it finished first;
# the windows past the progress line may or may not be in the file when the kill lands).
ck=(eval --model "$model" --dataset "$text" --seqlen 64 --max-windows 40 --threads 1 --backend hw --outliers)
"$OACIM" "${ck[@]}" --json "$work/ck-whole.json" >/dev/null 2>&1 || fail "eval for the checkpoint comparison"
"$OACIM" "${ck[@]}" --checkpoint "$work/eval.ckpt" >/dev/null 2>"$work/ck-killed.log" &
pid=$!
# The first progress line comes after 4 of the 40 windows (a tenth): kill there.
for _ in $(seq 1 1000); do grep -q "eval: window" "$work/ck-killed.log" 2>/dev/null && break; sleep 0.01; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -e "$work/eval.ckpt" ] || fail "eval --checkpoint wrote no checkpoint"
"$OACIM" "${ck[@]}" --checkpoint "$work/eval.ckpt" --json "$work/ck-resumed.json" >"$work/ck.log" 2>&1 || fail "eval resumed: $(cat "$work/ck.log")"
grep -q "eval: resumed" "$work/ck.log" || fail "the rerun did not resume: $(cat "$work/ck.log")"
"$PYTHON" - "$work" <<'PY' || fail "eval resumed from a checkpoint differs from an unbroken run"
import json, sys
w = sys.argv[1]
a, b = (json.load(open(f"{w}/{n}.json")) for n in ("ck-whole", "ck-resumed"))
for k in ("perplexity", "perplexity_se", "window_nll", "hw_counters", "hw_layers"):
    assert a[k] == b[k], k
assert 4 <= b["checkpoint"]["resumed_windows"] <= 40, b["checkpoint"]
PY
expect_rc 2 "options.block_size. was \"32\", now \"64\"" "${ck[@]}" --block-size 64 --checkpoint "$work/eval.ckpt"

# The systemc backend: hw values (same perplexity to the bit), sampled layers co-simulated and
# checked bit-exact.
"$OACIM" eval "${common[@]}" --backend systemc --hw "$SRC/configs/hw/oacim-narrow.yaml" --outliers --offsets \
  --systemc-layers layers.1.attention.wq,layers.4.feed_forward.w2 --systemc-tokens 5 \
  --json "$work/s.json" >"$work/s.log" 2>&1 || fail "eval systemc: $(cat "$work/s.log")"
grep -q "layers.4.feed_forward.w2 .*BIT-EXACT" "$work/s.log" || fail "systemc log: $(cat "$work/s.log")"
"$PYTHON" - "$work" <<'PY' || fail "systemc JSON"
import json, sys
w = sys.argv[1]
h, s = (json.load(open(f"{w}/{n}.json")) for n in ("h", "s"))
assert s["perplexity"] == h["perplexity"], (s["perplexity"], h["perplexity"])
assert s["systemc"]["bit_exact"] is True
layers = {l["layer"]: l for l in s["systemc"]["layers"]}
assert set(layers) == {"layers.1.attention.wq", "layers.4.feed_forward.w2"}, layers
for l in layers.values():
    assert l["tokens"] == 5 and l["mismatches"] == 0 and l["counters_equal"] and l["compute_cycles"] > 0, l
assert layers["layers.4.feed_forward.w2"]["outputs"] == 5 * 64
PY
expect_rc 2 "not a quantized Linear" eval "${common[@]}" --backend systemc --systemc-layers layers.9.attention.wq
expect_rc 2 "only with --backend systemc" eval "${common[@]}" --backend hw --systemc-tokens 3
expect_rc 2 "systemc-tokens" eval "${common[@]}" --backend systemc --systemc-tokens 0
expect_rc 2 "backend" eval "${common[@]}" --backend bogus
expect_rc 2 "seqlen" eval --model "$model" --dataset "$text" --seqlen 4096
expect_rc 2 "only with --backend hw" eval "${common[@]}" --hw "$SRC/configs/hw/oacim-narrow.yaml"
expect_rc 2 "model" eval --dataset "$text"
expect_rc 1 "nope.bin" eval --model "$work/nope.bin" --dataset "$text"
head -c 300000 "$model" >"$work/trunc.bin"
cp "$SRC/tests/data/stories260K/tok512.bin" "$work/"
expect_rc 1 "truncated" eval --model "$work/trunc.bin" --dataset "$text"
expect_rc 1 "missing.txt" eval --model "$model" --dataset "$work/missing.txt"
expect_rc 2 "C4" eval --model "$model" --dataset c4

# Zero-shot tasks: scored on float and hw, JSON with the per-document outcome; refusals.
for b in float hw; do
  "$OACIM" eval --model "$model" --task "$SRC/tests/data/tasks/tiny_choice.jsonl" --backend $b --threads 1 \
    --json "$work/task-$b.json" >"$work/task-$b.log" 2>&1 || fail "eval --task ($b): $(cat "$work/task-$b.log")"
done
grep -q "acc .* acc_norm" "$work/task-float.log" || fail "eval --task output: $(cat "$work/task-float.log")"
"$PYTHON" - "$work" <<'PY' || fail "eval --task JSON"
import json, sys
w = sys.argv[1]
f, h = (json.load(open(f"{w}/task-{b}.json"))["task"] for b in ("float", "hw"))
assert f["name"] == "tiny_choice" and f["kind"] == "multiple_choice" and f["documents"] == 16, f
assert len(f["correct"]) == 16 and abs(sum(f["correct"]) / 16 - f["acc"]) < 1e-12
assert 0.5 < f["acc"] <= 1.0 and "acc_norm" in f and "perplexity" not in f
assert "perplexity" not in json.load(open(f"{w}/task-hw.json"))  # no dataset perplexity in a task result
PY
expect_rc 2 "given together" eval --model "$model" --dataset "$text" --task "$SRC/tests/data/tasks/tiny_choice.jsonl"
expect_rc 2 "float, fakequant or hw" eval --model "$model" --task "$SRC/tests/data/tasks/tiny_choice.jsonl" --backend systemc
expect_rc 2 "--token-nll: writes the losses of perplexity windows" eval --model "$model" --task "$SRC/tests/data/tasks/tiny_choice.jsonl" --token-nll "$work/t.nll"
printf '{"context": "a", "choices": ["b"], "gold": 1}\n' >"$work/bad-task.jsonl"
expect_rc 1 "bad-task.jsonl: line 1: 'gold' 1 is outside the 1 choices" eval --model "$model" --task "$work/bad-task.jsonl"
expect_rc 2 "is required (or --task" eval --model "$model"

echo "eval cli: $fails failure(s)"
[ "$fails" -eq 0 ]
