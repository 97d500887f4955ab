#!/usr/bin/env bash
# The README's main command: installs, builds, and runs the main job on the bundled default.
# Today: the packed CIM weight format demo and a SystemC co-simulation per shipped hardware config;
# the sign-off run replaces it once it exists.
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
