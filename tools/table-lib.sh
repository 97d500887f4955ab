# Shared set-up of the docs table scripts (sourced with BUILD_DIR [KEEP_DIR] as "$@"): the bundled
# model and text, a scratch directory, `run` (an oacim step that stops the script with its log on
# failure; set -e does not reach into $(...)), `ppl MODEL BACKEND` (perplexity on the TinyStories
# slice, seqlen 256) and the shared self-generated calibration file $calib (128 x 512, seed 0).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
oacim="${1:-build}/oacim"
keep=${2:-}
[ -z "$keep" ] || mkdir -p "$keep"
model=tests/data/stories260K/stories260K.bin
text=tests/data/tinystories-valid-slice.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { "$oacim" "$@" >"$work/log" 2>&1 || { echo "oacim $*: failed" >&2; cat "$work/log" >&2; kill $$; exit 1; }; }
ppl() { rm -f "$work/e.json"; run eval --model "$1" --dataset "$text" --seqlen 256 --backend "$2" --json "$work/e.json"
        python3 -c "import json;print('%.4f' % json.load(open('$work/e.json'))['perplexity'])"; }
calib="$work/calib.safetensors"
run calib --model $model --n 128 --len 512 --seed 0 --out "$calib"
