#!/usr/bin/env bash
# Produces the table of docs/quantization.md: the bundled stories260K quantized at 4 bits by each
# method, perplexity on the bundled TinyStories slice (fakequant and the bit-accurate hw backend,
# seqlen 256), ones-count, outliers and storage. Calibration: 128 samples of up to 512 tokens the
# float model writes itself (`oacim calib`, seed 0, algorithms.md C.3), generated once and shared
# by every variant, so the evaluation text stays held out.
# Usage: bash tools/quant-table.sh [BUILD_DIR [KEEP_DIR]] (about 10 minutes on 2 cores); KEEP_DIR
# keeps each variant's per-layer JSON report (quantize --json) for a closer look.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
oacim="$build/oacim"
model=tests/data/stories260K/stories260K.bin
text=tests/data/tinystories-valid-slice.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
keep=${2:-}
[ -z "$keep" ] || mkdir -p "$keep"
# A failed step stops the script with its log (set -e does not reach into $(...)).
run() { "$oacim" "$@" >"$work/log" 2>&1 || { echo "oacim $*: failed" >&2; cat "$work/log" >&2; kill $$; exit 1; }; }
ppl() { rm -f "$work/e.json"; run eval --model "$1" --dataset "$text" --seqlen 256 --backend "$2" --json "$work/e.json"
        python3 -c "import json;print('%.4f' % json.load(open('$work/e.json'))['perplexity'])"; }
run calib --model $model --n 128 --len 512 --seed 0 --out "$work/calib.safetensors"
echo "| variant | options | ppl fakequant | ppl hw | ones % (before offsets) | outliers | bits/weight |"
echo "|---|---|---|---|---|---|---|"
echo "| fp32 | | $(ppl $model float) | | | | 32 |"
while IFS='|' read -r name opts; do
  out="$work/$name"
  # shellcheck disable=SC2086
  run quantize --model $model $opts --calib "$work/calib.safetensors" --nsamples 128 --seqlen 512 --out "$out" \
    --json "$out.json"
  [ -z "$keep" ] || cp "$out.json" "$keep/$name.json"
  stats=$(python3 -c "
import json; d=json.load(open('$out.json'))
print('%.2f (%.2f) | %d | %.3f' % (100*d['ones']/d['stored_bits'], 100*d['ones_before_offsets']/d['stored_bits'], d['outliers'], d['bits_per_weight']))")
  echo "| $name | \`$opts\` | $(ppl "$out" fakequant) | $(ppl "$out" hw) | $stats |"
done <<'VARIANTS'
RTN|--method rtn
GPTQ|--method gptq
OA|--method oa
OA+offset|--method oa --offsets
OA+outlier|--method oa --outliers
OA+outlier+offset|--method oa --outliers --offsets
OA+outlier+offset faithful|--method oa --outliers --offsets --offset-sign faithful
VARIANTS
