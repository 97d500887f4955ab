#!/usr/bin/env bash
# The README's main command: installs, builds, and runs the sign-off experiment on the bundled
# default (configs/default.yaml: stories260K, RTN and OA-CIM at 4 bits, two datapaths, SystemC
# co-simulation of block 0) into build/signoff/ with report.md and report.html. Resumable: run it
# again after an interruption and finished points are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -G Ninja
cmake --build build
./build/oacim run configs/default.yaml --out build/signoff --jobs 2
# Renders the report as the README's screenshot shows it (skipped, with a note, without Chromium).
bash tools/report-screenshot.sh build/signoff/report.html build/signoff/report.png 1280x2200 ||
  echo "run-default: no screenshot (report.html is complete without it)" >&2
echo "run-default: open build/signoff/report.html (or read build/signoff/report.md)"
