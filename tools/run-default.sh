#!/usr/bin/env bash
# The README's main command: installs, builds, and runs the main job on the bundled default.
# Today: the packed CIM weight format demo, a SystemC co-simulation per shipped hardware config,
# and the bundled model's perplexity in fp32 and on the datapath; the sign-off run replaces it.
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
# The bundled model, fp32 and on the bit-accurate datapath (RTN 4-bit with outliers and offsets).
for backend in float hw; do
  ./build/oacim eval --model tests/data/stories260K/stories260K.bin --dataset tests/data/tinystories-valid-slice.txt \
    --seqlen 256 --backend "$backend" --outliers --offsets --json "build/eval-$backend.json"
done
