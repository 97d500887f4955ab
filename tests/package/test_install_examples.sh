#!/usr/bin/env bash
# The CMake package as a consumer sees it: install this build into an empty prefix, configure
# examples/ against it with find_package(oacim) (not the build tree), build and run every example.
# Usage: test_install_examples.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=${1:?build dir} src=${2:?source dir} work=${3:?work dir}
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
# Nothing of the build tree may leak into the consumer: no source or build path in the package files.
if grep -rl -e "$build" -e "$src/include" "$work/prefix/lib/cmake/oacim" >/dev/null; then
  echo "the installed package refers to the build or source tree:" >&2
  grep -rn -e "$build" -e "$src/include" "$work/prefix/lib/cmake/oacim" | head -5 >&2
  exit 1
fi
cmake -S "$src/examples" -B "$work/examples" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; exit 1; }
cmake --build "$work/examples" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
ran=0
for example in pack_and_run cosim_layer quantize_layer; do
  [ -x "$work/examples/$example" ] || continue
  "$work/examples/$example" || { echo "example $example failed" >&2; exit 1; }
  ran=$((ran + 1))
done
[ "$ran" -ge 2 ] || { echo "only $ran example(s) were built" >&2; exit 1; }
# The Python package, where this build has it, imports from the installed place alone.
pydir=$(find "$work/prefix" -type d -path '*dist-packages/oacim' | head -1)
if [ -n "$pydir" ]; then
  (cd "$work" && PYTHONPATH="$(dirname "$pydir")" /usr/bin/python3 -c \
    "import oacim, torch; y = oacim.HwLinear(oacim.pack_rtn(torch.randn(8, 32)))(torch.randn(2, 32)); assert y.shape == (2, 8); print('python: oacim', oacim.__version__, 'from', oacim.__file__)") ||
    { echo "the installed Python package does not import" >&2; exit 1; }
fi
echo "package: $ran examples built against the installed package and passed"
