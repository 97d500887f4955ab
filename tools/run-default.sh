#!/usr/bin/env bash
# The README's main command: installs, builds, and runs the main job on the bundled default.
# Today: the packed CIM weight format demo, a SystemC co-simulation per shipped hardware config,
# and the bundled model self-calibrated, quantized with OA-CIM (outliers, offsets) and evaluated in
# fp32, fake-quant and on the datapath with block 0 co-simulated; the sign-off run replaces it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -G Ninja
cmake --build build
./build/oacim pack-demo --json build/pack-demo.json --out build/pack-demo.safetensors
./build/oacim inspect build/pack-demo.safetensors
for cfg in configs/hw/*.yaml; do
  name=$(basename "$cfg" .yaml)
  ./build/oacim cosim --hw "$cfg" --random 256x512x8 --seed 1 --json "build/cosim-$name.json"
done
# The bundled model: its own calibration text, OA-CIM 4-bit with outliers and offsets, then
# perplexity in fp32, fake-quant, and on the datapath with block 0's Linears co-simulated in SystemC.
model=tests/data/stories260K/stories260K.bin
text=tests/data/tinystories-valid-slice.txt
./build/oacim calib --model $model --n 32 --len 512 --seed 0 --out build/calib.safetensors
./build/oacim quantize --model $model --method oa --outliers --offsets --calib build/calib.safetensors --nsamples 32 \
  --seqlen 512 --out build/oa-model --json build/quantize.json
./build/oacim eval --model $model --dataset $text --seqlen 256 --backend float --json build/eval-float.json
for backend in fakequant systemc; do
  ./build/oacim eval --model build/oa-model --dataset $text --seqlen 256 --backend $backend --json "build/eval-$backend.json"
done
