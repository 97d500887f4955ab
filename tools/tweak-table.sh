#!/usr/bin/env bash
# Produces the table of docs/normtweak.md: the bundled stories260K quantized by RTN and OA at 4
# and 3 bits (block 32), then norm-tweaked on 112 of 128 self-generated calibration samples
# (`oacim calib --n 128 --len 512 --seed 0`) with lr0 in {1e-5, 1e-4, 1e-3} (scale 5) chosen on
# the 16 held-out samples; perplexity before and after on the bundled TinyStories slice (seqlen
# 256, fakequant and hw), and the share of the quantization loss recovered.
# Usage: bash tools/tweak-table.sh [BUILD_DIR [KEEP_DIR]] (about 15 minutes on 2 cores).
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
fp=$(ppl $model float)
echo "fp32 perplexity: $fp"
echo
echo "| setting | ppl before (fakequant / hw) | ppl after (fakequant / hw) | recovered | chosen lr0 | held-out ppl before -> after |"
echo "|---|---|---|---|---|---|"
while IFS='|' read -r name opts; do
  q="$work/q"
  t="$work/t"
  rm -rf "$q" "$t"
  # shellcheck disable=SC2086
  run quantize --model $model $opts --calib "$work/calib.safetensors" --nsamples 128 --seqlen 512 --out "$q"
  run tweak --quantized "$q" --calib "$work/calib.safetensors" --grid-lr 1e-5,1e-4,1e-3 --grid-scale 5 \
    --out "$t" --json "$t.json"
  [ -z "$keep" ] || cp "$t.json" "$keep/$name.json"
  b_fq=$(ppl "$q" fakequant); b_hw=$(ppl "$q" hw); a_fq=$(ppl "$t" fakequant); a_hw=$(ppl "$t" hw)
  row=$(python3 -c "
import json; d=json.load(open('$t.json')); p=d['points'][d['best']]
rec = 100 * ($b_fq - $a_fq) / ($b_fq - $fp)
print('%+.1f %% | %g | %.4f -> %.4f' % (rec, p['lr'], d['baseline_heldout_ppl'], p['heldout_ppl']))")
  echo "| $name \`$opts\` | $b_fq / $b_hw | $a_fq / $a_hw | $row |"
done <<'SETTINGS'
RTN 4-bit|--method rtn --wbits 4
OA 4-bit|--method oa --wbits 4 --outliers --offsets
RTN 3-bit|--method rtn --wbits 3
OA 3-bit|--method oa --wbits 3 --outliers --offsets
SETTINGS
