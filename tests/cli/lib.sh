# Shared helpers of the CLI test scripts (sourced). Needs $OACIM and $work; counts in $fails.
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
