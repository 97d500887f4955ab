#!/usr/bin/env bash
# `oacim cosim` end to end: for every shipped hardware config a fixed random layer must be
# bit-exact against the hw model and reproduce its golden log (output hash, counters, cycles,
# module activity) in tests/golden/; the file mode (--weights/--inputs) must give the same bits;
# bad input must fail with one line and the right exit code.
# OACIM_UPDATE_GOLDEN=1 rewrites the golden files (review the diff before committing it).
set -u
# shellcheck source=../cli/lib.sh
source "${SRC:?source root}/tests/cli/lib.sh" "$@"

golden_fields='["bit_exact", "counters_match", "output_fnv1a", "counters", "cycles", "activity", "layer"]'
for cfg in "$SRC"/configs/hw/*.yaml; do
  name=$(basename "$cfg" .yaml)
  out="$work/$name.json"
  if ! "$OACIM" cosim --hw "$cfg" --random 96x200x6 --seed 11 --threads 1 --json "$out" >"$work/$name.log" 2>&1; then
    fail "cosim on $name: $(cat "$work/$name.log")"
    continue
  fi
  golden="$SRC/tests/golden/cosim_$name.json"
  "$PYTHON" - "$out" "$golden" "${OACIM_UPDATE_GOLDEN:-0}" "$golden_fields" <<'PY' || fail "golden log of $name"
import json, sys
out, golden, update, fields = sys.argv[1], sys.argv[2], sys.argv[3] == "1", json.loads(sys.argv[4])
got = json.load(open(out))
sub = {k: got[k] for k in fields}
sub["cycles"] = {k: v for k, v in sub["cycles"].items() if k != "simulated_ns"}
if update:
    json.dump(sub, open(golden, "w"), indent=1, sort_keys=True)
    open(golden, "a").write("\n")
    sys.exit(0)
want = json.load(open(golden))
bad = [k for k in want if want[k] != sub.get(k)]
for k in bad:
    print(f"{golden}: '{k}' differs:\n  golden {want[k]}\n  got    {sub.get(k)}", file=sys.stderr)
if not got["bit_exact"] or not got["counters_match"]:
    print("not bit-exact", file=sys.stderr); sys.exit(1)
sys.exit(1 if bad else 0)
PY
done

# File mode gives the same bits as the generated layer it was saved from.
"$OACIM" cosim --random 40x96x3 --seed 5 --save "$work/layer" --json "$work/a.json" >/dev/null 2>&1 || fail "cosim --save"
"$OACIM" cosim --weights "$work/layer.weights.safetensors" --inputs "$work/layer.inputs.safetensors" \
  --json "$work/b.json" >/dev/null 2>&1 || fail "cosim --weights/--inputs"
"$PYTHON" -c "
import json,sys
a,b=(json.load(open(f)) for f in sys.argv[1:3])
sys.exit(0 if a['output_fnv1a']==b['output_fnv1a'] and b['bit_exact'] else 1)" "$work/a.json" "$work/b.json" \
  || fail "file mode differs from the generated layer"

# A real model layer on real activations: stories260K's down projection (172 inputs: a ragged block).
"$OACIM" cosim --model "$SRC/tests/data/stories260K/stories260K.bin" --layer layers.2.feed_forward.w2 --tokens 16 \
  --text "$SRC/tests/data/tinystories-valid-slice.txt" --hw "$SRC/configs/hw/oacim-narrow.yaml" --json "$work/m.json" \
  >"$work/m.log" 2>&1 || fail "cosim --model: $(cat "$work/m.log")"
grep -q "BIT-EXACT" "$work/m.log" || fail "cosim --model is not bit-exact: $(cat "$work/m.log")"
expect_rc 2 "is not a Linear" cosim --model "$SRC/tests/data/stories260K/stories260K.bin" --layer nope \
  --text "$SRC/tests/data/tinystories-valid-slice.txt"
expect_rc 2 "required with --model" cosim --model "$SRC/tests/data/stories260K/stories260K.bin"
expect_rc 2 "ROWSxCOLSxTOKENS" cosim --random 10x10
expect_rc 2 "give one of" cosim
expect_rc 2 "macro.rows" cosim --random 16x256x2 --block-size 128
printf 'macro:\n  rows: 64\n  rowz: 3\n' >"$work/bad.yaml"
expect_rc 2 "bad.yaml:3: macro.rowz" cosim --hw "$work/bad.yaml" --random 8x64x1
expect_rc 1 "missing" cosim --weights "$work/layer.inputs.safetensors" --inputs "$work/layer.inputs.safetensors"
head -c 100 "$work/layer.weights.safetensors" >"$work/trunc.safetensors"
expect_rc 1 "trunc.safetensors" cosim --weights "$work/trunc.safetensors" --inputs "$work/layer.inputs.safetensors"

echo "cosim cli: $fails failure(s)"
[ "$fails" -eq 0 ]
