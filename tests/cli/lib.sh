# Shared set-up and helpers of the CLI test scripts: `source "$SRC/tests/cli/lib.sh" "$@"` with
# OACIM (the binary), SRC (the source root) and optionally PYTHON in the environment; the first
# argument is the work directory (emptied). Defines $work, $model, $text; counts failures in $fails.
OACIM=${OACIM:?path to the oacim binary}
PYTHON=${PYTHON:-python3}
SRC=${SRC:?source root}
work=${1:-$(mktemp -d)}
rm -rf "$work" && mkdir -p "$work"
model="$SRC/tests/data/stories260K/stories260K.bin"
text="$SRC/tests/data/tinystories-valid-slice.txt"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect_rc RC PATTERN ARGS...: oacim ARGS exits RC with one line on stderr containing PATTERN
# (progress lines "eval: window ..." aside).
expect_rc() {
  local rc=$1 pat=$2
  shift 2
  "$OACIM" "$@" >"$work/out" 2>"$work/err"
  local got=$?
  [ "$got" -eq "$rc" ] || { fail "oacim $* exited $got, expected $rc: $(cat "$work/err")"; return; }
  [ "$(grep -vEc '^(eval: window|quantize: \[|tweak: )' "$work/err")" -eq 1 ] || fail "oacim $*: stderr is not one line: $(cat "$work/err")"
  grep -q -- "$pat" "$work/err" || fail "oacim $*: '$pat' not in: $(cat "$work/err")"
}
