#!/usr/bin/env bash
# The repository stands alone: a clone in an empty temporary folder (nothing beside it) validates
# the README's main experiment and evaluates the bundled WikiText-2; no file of the product or its
# tests names the development folder beside the checkout; the bundled data match the hashes that
# tests/data/README.md lists.
set -u
# shellcheck source=../cli/lib.sh
source "${SRC:?source root}/tests/cli/lib.sh" "$@"

# 1. Every hash in tests/data/README.md is the hash of the file its row names first.
checked=0
while IFS= read -r row; do
  path=$(sed -n 's/^| `\([^`]*\)`.*/\1/p' <<<"$row")
  hash=$(grep -oE '\b[0-9a-f]{64}\b' <<<"$row" | head -n1)
  [ -n "$path" ] && [ -n "$hash" ] || continue
  got=$(sha256sum "$SRC/tests/data/$path" 2>/dev/null | cut -d' ' -f1)
  [ "$got" = "$hash" ] || fail "tests/data/$path: sha256 $got, README says $hash"
  checked=$((checked + 1))
done <"$SRC/tests/data/README.md"
[ "$checked" -ge 5 ] || fail "only $checked hashed files found in tests/data/README.md"

# 2. A clone with nothing beside it (the committed tree: CI runs on a clean clone of main).
clone="$work/empty/oacim"
mkdir -p "$work/empty"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
  git clone -q "$SRC" "$clone" || fail "git clone"
else
  mkdir -p "$clone" && (cd "$SRC" && tar --exclude='./build*' -cf - .) | (cd "$clone" && tar -xf -)
fi
[ "$(ls -A "$work/empty")" = "oacim" ] || fail "the clone's folder holds more than the clone"
cd "$clone" || exit 1

# 3. Nothing the product or its tests read names the development folder (pattern split so that
# this file does not match itself).
dev_folder='\.\./'"shared"
hits=$(grep -rnE "$dev_folder" src include sim tools configs tests README.md docs CMakeLists.txt .ci 2>/dev/null)
[ -z "$hits" ] || fail "the clone still names the development folder: $hits"

# 4. The main job's experiment validates and one short evaluation runs on the bundled WikiText-2,
# once by name (the bundled data directory) and once with the clone's own folder named.
"$OACIM" run configs/default.yaml --check >"$work/check.log" 2>&1 || fail "run --check in the clone: $(cat "$work/check.log")"
grep -q "6 points" "$work/check.log" || fail "run --check lists no 6 points: $(cat "$work/check.log")"
for dir_args in "" "--data-dir tests/data/text"; do
  # shellcheck disable=SC2086
  "$OACIM" eval --model tests/data/stories260K/stories260K.bin --dataset wikitext2 $dir_args --seqlen 128 \
    --max-windows 2 --threads 1 --json "$work/wiki.json" >"$work/wiki.log" 2>&1 ||
    fail "eval wikitext2 $dir_args in the clone: $(cat "$work/wiki.log")"
  "$PYTHON" - "$work/wiki.json" <<'PY' || fail "eval wikitext2 $dir_args: JSON"
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["windows"] == 2 and r["seqlen"] == 128, r
assert math.isfinite(r["perplexity"]) and r["perplexity"] > 1.0, r["perplexity"]
PY
done

# 5. PTB cannot ship: asking for it without a folder says where it must come from.
expect_rc 2 "cannot be redistributed" eval --model tests/data/stories260K/stories260K.bin --dataset ptb --threads 1

echo "standalone: $checked hashes, clone checks done, $fails failure(s)"
[ "$fails" -eq 0 ]
