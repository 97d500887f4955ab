#!/usr/bin/env bash
# Options are declared once: for calib, quantize, tweak and eval, every option of the generated
# table (`oacim options CMD`) is in `oacim CMD --help` with the same default, docs/configs.md holds
# the table verbatim, and every experiment key a command option names is in the experiment schema
# (`oacim run --schema`) with the same type and default when the option declares it.
set -u
# shellcheck source=../cli/lib.sh
source "${SRC:?source root}/tests/cli/lib.sh" "$@"

"$OACIM" run --schema >"$work/schema.md" || fail "run --schema"
for cmd in calib quantize tweak eval export random-model; do
  "$OACIM" options "$cmd" >"$work/$cmd.md" || fail "options $cmd"
  "$OACIM" "$cmd" --help >"$work/$cmd.help" || fail "$cmd --help"
done
"$PYTHON" - "$work" "$SRC/docs/configs.md" <<'PY' || fail "option tables disagree"
import re, sys
work, docs_path = sys.argv[1], sys.argv[2]
docs = open(docs_path).read()

def rows(text):
    out = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| option") or line.startswith("| key"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        out.append(cells)
    return out

schema = {r[0].strip("`"): r for r in rows(open(f"{work}/schema.md").read())}
problems, checked = [], 0
for cmd in ["calib", "quantize", "tweak", "eval", "export", "random-model"]:
    table = open(f"{work}/{cmd}.md").read()
    if table not in docs:
        problems.append(f"docs/configs.md lacks the current table of {cmd} (paste `oacim options {cmd}`)")
    help_text = open(f"{work}/{cmd}.help").read()
    for spelling, typ, default, key, doc in rows(table):
        flag = spelling.split("`")[1]
        default = default.strip("`")
        m = re.search(r"^\s+" + re.escape(flag) + r"(?: arg(?: \(=([^)]*)\))?)?\s", help_text, re.M)
        if not m:
            problems.append(f"{cmd}: {flag} is not in --help")
            continue
        shown = m.group(1) or ""
        if typ != "bool" and default not in ("required",) and shown != default:
            problems.append(f"{cmd}: {flag} --help default '{shown}', table '{default}'")
        checked += 1
        reads = key.startswith("reads ")
        key = key.replace("reads ", "").strip("`")
        if not key:
            continue
        if key not in schema:
            problems.append(f"{cmd}: {flag} names experiment key {key}, which the schema lacks")
            continue
        if not reads and (schema[key][1] != typ or schema[key][2].strip("`") != (default or '""')):
            problems.append(f"{cmd}: {flag} is {typ} = '{default}', schema key {key} is {schema[key][1]} = {schema[key][2]}")
assert checked > 60, checked
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"options: {checked} options agree")
PY
echo "options: $fails failure(s)"
[ "$fails" -eq 0 ]
