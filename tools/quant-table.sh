#!/usr/bin/env bash
# Produces the table of docs/quantization.md: the bundled stories260K quantized at 4 bits (and the
# 3-bit comparison of RTN, GPTQ, OA and DiscQuant) by each method, with and without Hadamard
# incoherence where the row says so, perplexity on the bundled TinyStories slice (fakequant and the bit-accurate hw backend,
# seqlen 256), ones-count, outliers and storage. Calibration: 128 samples of up to 512 tokens the
# float model writes itself (`oacim calib`, seed 0, docs/algorithms.md C.3), generated once and shared
# by every variant, so the evaluation text stays held out.
# Usage: bash tools/quant-table.sh [BUILD_DIR [KEEP_DIR]] (about 25 minutes on 2 cores); KEEP_DIR
# keeps each variant's per-layer JSON report (quantize --json) for a closer look.
set -euo pipefail
# shellcheck source=table-lib.sh
source "$(dirname "$0")/table-lib.sh" "$@"
echo "| variant | options | ppl fakequant | ppl hw | ones % (before offsets) | outliers | bits/weight |"
echo "|---|---|---|---|---|---|---|"
echo "| fp32 | | $(ppl $model float) | | | | 32 |"
while IFS='|' read -r name opts; do
  out="$work/$name"
  # shellcheck disable=SC2086
  run quantize --model $model $opts --calib "$calib" --nsamples 128 --seqlen 512 --out "$out" \
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
GPTQ+Hadamard|--method gptq --incoherence hadamard
DiscQuant|--method discquant --dq-steps 256 --dq-warmup 32
DiscQuant+Hadamard|--method discquant --dq-steps 256 --dq-warmup 32 --incoherence hadamard
RTN 3-bit|--method rtn --wbits 3
GPTQ 3-bit|--method gptq --wbits 3
GPTQ+Hadamard 3-bit|--method gptq --wbits 3 --incoherence hadamard
OA+outlier 3-bit|--method oa --wbits 3 --outliers
OA+outlier+offset 3-bit|--method oa --wbits 3 --outliers --offsets
OA+outlier+offset in cell 3-bit|--method oa --wbits 3 --outliers --offsets --offsets-in-cell --max-offset 4
DiscQuant 3-bit|--method discquant --wbits 3 --dq-steps 256 --dq-warmup 32
DiscQuant+Hadamard 3-bit|--method discquant --wbits 3 --dq-steps 256 --dq-warmup 32 --incoherence hadamard
VARIANTS
