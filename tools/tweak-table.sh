#!/usr/bin/env bash
# Produces the table of docs/normtweak.md: the bundled stories260K quantized by RTN and OA at 4
# and 3 bits (block 32), then norm-tweaked on 112 of 128 self-generated calibration samples
# (`oacim calib --n 128 --len 512 --seed 0`) with lr0 in {1e-5, 1e-4, 1e-3} (scale 5) chosen on
# the 16 held-out samples; perplexity before and after on the bundled TinyStories slice (seqlen
# 256, fakequant and hw), and the share of the quantization loss recovered.
# Usage: bash tools/tweak-table.sh [BUILD_DIR [KEEP_DIR]] (about 30 minutes on 2 cores).
set -euo pipefail
# shellcheck source=table-lib.sh
source "$(dirname "$0")/table-lib.sh" "$@"
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
  run quantize --model $model $opts --calib "$calib" --nsamples 128 --seqlen 512 --out "$q"
  run tweak --quantized "$q" --calib "$calib" --grid-lr 1e-5,1e-4,1e-3 --grid-scale 5 \
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
