#!/usr/bin/env bash
# The README's main command: installs, builds, and runs the main job on the bundled default.
# Today that is the packed CIM weight format demo; the sign-off run replaces it once it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -G Ninja
cmake --build build
./build/oacim pack-demo --json build/pack-demo.json --out build/pack-demo.safetensors
./build/oacim inspect build/pack-demo.safetensors
