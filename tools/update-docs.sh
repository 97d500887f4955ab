#!/usr/bin/env bash
# Regenerates the generated tables of docs/configs.md from the option tables: the hardware knobs
# (`oacim hw-config --markdown`), the experiment keys (`oacim run --schema`) and each command's
# options (`oacim options CMD`). Usage: bash tools/update-docs.sh [path/to/oacim]
set -euo pipefail
cd "$(dirname "$0")/.."
oacim=${1:-build/oacim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$oacim" hw-config --markdown >"$tmp/hw.md"
"$oacim" run --schema >"$tmp/schema.md"
for c in calib quantize tweak eval export random-model; do "$oacim" options "$c" >"$tmp/$c.md"; done
python3 - "$tmp" docs/configs.md <<'PY'
import sys
tmp, path = sys.argv[1], sys.argv[2]
text = open(path).read()

def replace_after(text, anchor, table):
    """Replaces the first Markdown table after `anchor` with `table`."""
    at = text.index(anchor)
    start = text.index("\n|", at) + 1
    end = start
    while end < len(text) and text[end] == "|":
        end = text.index("\n", end) + 1
    return text[:start] + table + text[end:]

text = replace_after(text, "### Every knob", open(f"{tmp}/hw.md").read())
text = replace_after(text, "### Every key", open(f"{tmp}/schema.md").read())
for c in ["calib", "quantize", "tweak", "eval", "export", "random-model"]:
    text = replace_after(text, f"### `oacim {c}`", open(f"{tmp}/{c}.md").read())
open(path, "w").write(text)
PY
echo "update-docs: docs/configs.md regenerated"
