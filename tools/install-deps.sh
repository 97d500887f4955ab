#!/usr/bin/env bash
# Installs every Debian package oacim's build, tests and benchmarks need. Idempotent:
# a second run finds everything present and only re-checks the BLAS alternative.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev            # libtorch 1.13 (find_package(Torch))
  libopenblas0-pthread    # without it libtorch's fp32 matmul runs on the reference BLAS (~35x slower)
  libsystemc-dev          # SystemC 2.3.4 + TLM (pkg-config systemc, tlm)
  libyaml-cpp-dev libfmt-dev nlohmann-json3-dev
  libboost-dev libboost-program-options-dev
  libboost-mpi-dev openmpi-bin libopenmpi-dev   # MPI scale-out (docs/scaleout.md): Boost.MPI over OpenMPI
  zlib1g-dev              # C4 shards are gzip JSON lines
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-numpy   # independent reader used by the safetensors interoperability test
  pybind11-dev python3-torch python3-pytest   # the Python module oacim and its tests (docs/library.md)
  chromium-headless-shell # renders report.html in a test and for the README's screenshot
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#PACKAGES[@]} packages present" >&2
fi

# libtorch links the generic libblas.so.3: make sure the alternative points at OpenBLAS.
blas_alt=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}' || true)
case "$blas_alt" in
  *openblas*) ;;
  *)
    cand=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas | head -n1 || true)
    if [ -n "$cand" ]; then $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$cand" >/dev/null; fi
    ;;
esac
