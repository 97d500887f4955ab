#!/usr/bin/env bash
# Layering rule (docs/architecture.md): core never includes torch, SystemC or a higher oacim layer;
# hw (the bit-accurate datapath) includes only core; runtime headers expose no torch types.
set -u
root=${1:?source root}
fail=0
bad=$(grep -rnE '#include *[<"](torch/|ATen/|c10/|systemc|tlm|oacim/(runtime|cli|hw|sim|quant|model|tweak|eval|report|sweep)/)' \
  "$root/include/oacim/core" "$root/src/core" || true)
if [ -n "$bad" ]; then echo "core includes a higher layer or torch:"; echo "$bad"; fail=1; fi
bad=$(grep -rnE '#include *[<"](torch/|ATen/|c10/|systemc|tlm|oacim/(runtime|cli|sim|quant|model|tweak|eval|report|sweep)/)' \
  "$root/include/oacim/hw" "$root/src/hw" || true)
if [ -n "$bad" ]; then echo "hw includes torch, SystemC or a higher layer:"; echo "$bad"; fail=1; fi
bad=$(grep -rnE '#include *[<"](torch/|ATen/|c10/|systemc|tlm|oacim/(runtime|cli|sim|model|tweak|sweep)/)' \
  "$root/include/oacim/report" "$root/src/report" || true)
if [ -n "$bad" ]; then echo "report includes torch, SystemC or a layer it does not build on:"; echo "$bad"; fail=1; fi
# The sweep runner only checks options (torch-free headers of quant and eval) and starts processes.
bad=$(grep -rnE '#include *[<"](torch/|ATen/|c10/|systemc|tlm|oacim/(runtime|cli|sim|model|tweak)/)' \
  "$root/include/oacim/sweep" "$root/src/sweep" | grep -vE 'oacim/(model|tweak)/[a-z_]+_options\.hpp' || true)
if [ -n "$bad" ]; then echo "sweep includes torch, SystemC or a layer it does not build on:"; echo "$bad"; fail=1; fi
bad=$(grep -rnE '#include *[<"](torch/|ATen/|c10/)' "$root/include/oacim/runtime" "$root/include/oacim/cli" "$root/src/cli" || true)
if [ -n "$bad" ]; then echo "a header or CLI file includes torch:"; echo "$bad"; fail=1; fi
[ "$fail" -eq 0 ] && echo "layering: ok"
exit "$fail"
