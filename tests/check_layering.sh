#!/usr/bin/env bash
# Layering rule (docs/architecture.md), for every layer: a layer includes only the oacim layers
# listed for it (its own included), torch only where listed, SystemC only in sim. The sweep and the
# CLI, which are torch-free, may read the torch-free option tables (`*_options.hpp`) of the torch
# layers, and those headers include no torch. Usage: check_layering.sh SOURCE_ROOT
set -u
root=${1:?source root}
fail=0

# layer | oacim layers it may include besides itself | torch | systemc
rules="
core|||
hw|core||
data|core||
dist|core||
sim|core hw||systemc
runtime|core|cpp-only|
model|core hw data runtime|torch|
optim|core|torch|
eval|core hw data sim model runtime dist|torch|
quant|core hw data model optim runtime dist|torch|
tweak|core hw data model eval optim runtime|torch|
report|core||
sweep|core hw data report dist||
cli|core hw data sim model eval quant tweak report sweep runtime dist||
python|core hw data model optim quant runtime dist|torch|
"

dirs_of() {
  case "$1" in
    sim) echo "$root/sim" ;;
    *) echo "$root/include/oacim/$1 $root/src/$1" ;;
  esac
}

while IFS='|' read -r layer allowed torch systemc; do
  [ -n "$layer" ] || continue
  # shellcheck disable=SC2046
  files=$(find $(dirs_of "$layer") -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) 2>/dev/null)
  [ -n "$files" ] || continue
  ok="$layer $allowed"
  for f in $files; do
    while IFS= read -r inc; do
      dep=$(sed -E 's|.*oacim/([a-z_]+)/.*|\1|' <<<"$inc")
      case " $ok " in *" $dep "*) continue ;; esac
      # torch-free option tables of the torch layers, for the sweep and the CLI
      if { [ "$layer" = sweep ] || [ "$layer" = cli ]; } && grep -qE 'oacim/(model|eval|quant|tweak)/([a-z_]+_options|model_layout)\.hpp' <<<"$inc"; then
        continue
      fi
      echo "$layer includes $dep: ${f#$root/}: $inc"
      fail=1
    done < <(grep -hoE '#include *"oacim/[a-z_]+/[^"]+"' "$f")
    if [ -z "$torch" ] || { [ "$torch" = cpp-only ] && [[ "$f" == *.hpp ]]; }; then
      if grep -qE '#include *[<"](torch/|ATen/|c10/)' "$f"; then echo "$layer may not include torch: ${f#$root/}"; fail=1; fi
    fi
    if [ -z "$systemc" ] && grep -qE '#include *[<"](systemc|tlm)' "$f"; then
      echo "$layer may not include SystemC: ${f#$root/}"
      fail=1
    fi
  done
done <<<"$rules"

# MPI is dist's own business: no other layer, and no header, includes it.
for f in $(grep -rlE '#include *[<"](mpi\.h|boost/mpi)' "$root/include" "$root/src" "$root/sim" "$root/tools" 2>/dev/null); do
  case "$f" in "$root"/src/dist/*.cpp) ;; *) echo "only src/dist/*.cpp may include MPI: ${f#$root/}"; fail=1 ;; esac
done

# Option tables and the model layout are read by torch-free layers: no torch, no SystemC in them.
for f in $(find "$root/include/oacim" -name '*_options.hpp' -o -name 'model_layout.hpp'); do
  if grep -qE '#include *[<"](torch/|ATen/|c10/|systemc|tlm)' "$f"; then echo "option table header includes torch/SystemC: ${f#$root/}"; fail=1; fi
done

[ "$fail" -eq 0 ] && echo "layering: ok"
exit "$fail"
