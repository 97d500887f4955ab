#!/usr/bin/env bash
# The 1B-parameter proof (docs/performance.md "At 1B parameters"): writes a model of seeded random
# weights at a published shape (`oacim random-model`), evaluates WINDOWS windows of SEQLEN tokens of
# WikiText-2 in float, quantizes it with OA (outliers, offsets) on NSAMPLES calibration windows,
# evaluates the quantized model on fakequant and hw, and prints wall time and peak resident memory
# of every stage (GNU time). Usage:
#   bash tools/bench/scale_proof.sh [PRESET=tinyllama-1.1b] [WINDOWS=4] [SEQLEN=2048] [NSAMPLES=4] [WORK=/tmp/oacim-scale]
# STAGES (environment) runs only the named stages of: eval-float quantize-oa eval-fakequant eval-hw
# (the model is always written), e.g. STAGES="quantize-oa eval-hw".
set -euo pipefail
cd "$(dirname "$0")/../.."
oacim=${OACIM:-build/oacim}
preset=${1:-tinyllama-1.1b}
windows=${2:-4}
seqlen=${3:-2048}
nsamples=${4:-4}
work=${5:-/tmp/oacim-scale}
case $preset in
  opt-*) tok=tests/data/tokenizers/gpt2.encoder.json,tests/data/tokenizers/gpt2.vocab.bpe ;;
  *) tok=tests/data/tokenizers/llama2_sp32k.tokenizer.model ;;
esac
rm -rf "$work"
mkdir -p "$work"
stages=${STAGES:-eval-float quantize-oa eval-fakequant eval-hw}
stage() {  # stage NAME COMMAND...: runs it under GNU time, prints seconds and peak RSS
  local name=$1
  shift
  if [[ $name != random-model && " $stages " != *" $name "* ]]; then return; fi
  if ! /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.log" 2>&1; then
    tail -5 "$work/$name.log"
    exit 1
  fi
  read -r s kb <"$work/$name.time"
  awk -v n="$name" -v s="$s" -v kb="$kb" 'BEGIN { printf "%-16s %9.1f s   peak RSS %6.2f GiB\n", n, s, kb / 1048576 }'
}
echo "preset $preset, $windows x $seqlen tokens of wikitext2, OA calibration on $nsamples x $seqlen, $(nproc) cores"
stage random-model "$oacim" random-model --preset "$preset" --tokenizer "$tok" --out "$work/model"
grep -o "[0-9.]* B parameters" "$work/random-model.log" || true
stage eval-float "$oacim" eval --model "$work/model" --dataset wikitext2 --seqlen "$seqlen" --max-windows "$windows" --backend float --json "$work/float.json"
stage quantize-oa "$oacim" quantize --model "$work/model" --method oa --outliers --offsets --calib wikitext2 --nsamples "$nsamples" \
  --seqlen "$seqlen" --out "$work/q" --json "$work/q.json"
stage eval-fakequant "$oacim" eval --model "$work/q" --dataset wikitext2 --seqlen "$seqlen" --max-windows "$windows" --backend fakequant --json "$work/fq.json"
stage eval-hw "$oacim" eval --model "$work/q" --dataset wikitext2 --seqlen "$seqlen" --max-windows "$windows" --backend hw --json "$work/hw.json"
for f in float fq hw; do
  [[ -f "$work/$f.json" ]] || continue
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]:<10} perplexity {d['perplexity']:.1f}  {d['tokens_per_second']:.0f} tokens/s\")" "$work/$f.json" "$f"
done
