#!/usr/bin/env bash
# CLI behaviour: help and version, exit codes and one-line errors, pack-demo JSON and determinism,
# inspect on good and corrupted files, and a packed file read back by an independent Python reader.
set -u
OACIM=${OACIM:?path to the oacim binary}
PYTHON=${PYTHON:-python3}
work=${1:-$(mktemp -d)}
rm -rf "$work" && mkdir -p "$work"
fails=0
passes=0
check() {  # check NAME CONDITION...
  local name=$1
  shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $name" >&2; fails=$((fails + 1)); fi
}
run() {  # run EXPECTED_RC ARGS... ; leaves stdout/stderr in $work/out, $work/err
  local want=$1
  shift
  "$OACIM" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "oacim $* exited $rc, expected $want; stderr: $(cat "$work/err")" >&2
    return 1
  fi
}
one_line_err() { [ "$(wc -l <"$work/err")" -eq 1 ] && grep -q "$1" "$work/err"; }

check "help" run 0 --help
check "help lists subcommands" grep -q "pack-demo" "$work/out"
check "help lists inspect" grep -q "inspect" "$work/out"
check "version" run 0 --version
check "version text" grep -q "^oacim [0-9]" "$work/out"
check "no args is a usage error" run 2
check "unknown command" run 2 frobnicate
check "unknown command one line" one_line_err "unknown command"
check "unknown option" run 2 pack-demo --frobnicate
check "unknown option one line" one_line_err "frobnicate"
check "bad value type" run 2 pack-demo --rows many
check "bad value type one line" one_line_err "rows"
check "bits out of range" run 2 pack-demo --bits 9
check "bits one line" one_line_err "bits"
check "cols not multiple of 4" run 2 pack-demo --cols 30
check "cols one line" one_line_err "cols"
check "offset sign" run 2 pack-demo --offset-sign upside-down
check "offset sign one line" one_line_err "offset"
check "qq zero wider than codes" run 2 pack-demo --qq-zero-bits 6
check "subcommand help" run 0 pack-demo --help
check "subcommand help text" grep -q -- "--block-size" "$work/out"

check "pack-demo json" run 0 pack-demo --rows 64 --cols 128 --json "$work/a.json" --out "$work/p.safetensors"
check "pack-demo second run" run 0 pack-demo --rows 64 --cols 128 --json "$work/b.json"
check "pack-demo deterministic" cmp -s "$work/a.json" "$work/b.json"
check "inspect packed file" run 0 inspect "$work/p.safetensors" --json "$work/i.json"
check "inspect names the layer" grep -q "64x128" "$work/out"

"$PYTHON" - "$work/a.json" "$work/i.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
v = {x["variant"]: x for x in d["variants"]}
assert set(v) == {"rtn", "rtn+offsets", "rtn+outliers", "rtn+outliers+offsets"}, v.keys()
assert v["rtn"]["outlier_count"] == 0 and v["rtn+outliers"]["outlier_count"] > 0
assert v["rtn+offsets"]["ones"] < v["rtn"]["ones"], "offsets must lower the ones-count"
assert abs(v["rtn+offsets"]["ones_change_percent_vs_rtn"] - 100.0 * (v["rtn+offsets"]["ones"] - v["rtn"]["ones"]) / v["rtn"]["ones"]) < 1e-9
for x in v.values():
    assert 0 < x["relative_error"] < 1 and x["bits_per_weight"] > 4
assert d["tool"]["name"] == "oacim"
i = json.load(open(sys.argv[2]))
assert i["layers"][0]["ones"] == v["rtn+outliers+offsets"]["ones"], (i["layers"][0], v["rtn+outliers+offsets"])
PY
check "json content" [ $? -eq 0 ]

# Independent reader: parse the safetensors layout by hand with numpy and decode the nibbles.
"$PYTHON" - "$work/p.safetensors" <<'PY'
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__")
assert meta["format"] == "oacim.packed_cim_weights" and meta["format_version"] == "1", meta
R, C, bs = int(meta["rows"]), int(meta["cols"]), int(meta["block_size"])
data = raw[8 + n:]
dt = {"U16": np.uint16, "I16": np.int16, "I8": np.int8, "F32": np.float32, "U8": np.uint8, "F16": np.float16}
t = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=dt[v["dtype"]]).reshape(v["shape"])
     for k, v in header.items()}
assert t["packed"].shape == (R, C // 4) and t["outlier_index"].shape == (R, (C + bs - 1) // bs)
codes = np.stack([((t["packed"] >> (4 * k)) & 0xF).astype(np.int16) for k in range(4)], axis=-1).reshape(R, C)
codes = np.where(codes >= 8, codes - 16, codes)
assert codes.min() >= -8 and codes.max() <= 7
n_out = int((t["outlier_index"] >= 0).sum())
assert n_out > 0
# Outlier words decode as bf16 to finite values.
for r, b in zip(*np.nonzero(t["outlier_index"] >= 0)):
    col = b * bs + int(t["outlier_index"][r, b])
    word = int(t["packed"][r, col // 4])
    val = np.frombuffer(struct.pack("<I", word << 16), dtype=np.float32)[0]
    assert np.isfinite(val)
PY
check "python reads the packed file" [ $? -eq 0 ]

# A corrupted copy: exit 1, one line naming the file.
head -c 100 "$work/p.safetensors" >"$work/cut.safetensors"
check "inspect truncated" run 1 inspect "$work/cut.safetensors"
check "inspect truncated one line" one_line_err "cut.safetensors"
check "inspect missing file" run 1 inspect "$work/none.safetensors"
check "inspect needs a file" run 2 inspect
# GGUF files: llama.cpp's own vocabulary file, and a truncated copy refused in one line.
check "inspect gguf" run 0 inspect "${SRC:-.}/tests/data/tokenizers/ggml-vocab-llama-spm.gguf" --json "$work/g.json"
check "inspect gguf says what it is" grep -q "GGUF v3, .* architecture llama, tokenizer llama, 0 tensors" "$work/out"
check "inspect gguf json" "$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d['format']=='gguf' and d['metadata_keys']>10 else 1)" "$work/g.json"
# A GGUF with block Linears of three kinds: Q4_0 (the chip runs its codes), Q8_0 (requantize), F32.
"$PYTHON" - "$work/mixed.gguf" <<'PY'
import struct, sys
def s(v):
    b = v.encode()
    return struct.pack("<Q", len(b)) + b
tensors = [("blk.0.attn_q.weight", 2, [32, 2], (struct.pack("<e", 0.5) + bytes(range(16))) * 2),
           ("blk.0.ffn_down.weight", 8, [32, 1], struct.pack("<e", 0.125) + bytes(range(32))),
           ("blk.0.ffn_up.weight", 0, [2, 2], struct.pack("<4f", 1, 2, 3, 4))]
out = struct.pack("<IIQQ", 0x46554747, 3, len(tensors), 1) + s("general.architecture") + struct.pack("<I", 8) + s("llama")
data = b""
for name, t, shape, payload in tensors:
    out += s(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape) + struct.pack("<IQ", t, len(data))
    data += payload + b"\0" * ((32 - len(payload) % 32) % 32)
out += b"\0" * ((32 - len(out) % 32) % 32)
open(sys.argv[1], "wb").write(out + data)
PY
check "inspect mixed gguf" run 0 inspect "$work/mixed.gguf" --json "$work/m.json"
check "inspect says what runs on the chip" grep -q "block Linear tensors on the chip: 1 run the file's own 4-bit codes (Q4_0/Q4_1/Q4_K), 1 of a type no 4-bit cell holds" "$work/out"
check "inspect mixed gguf json" "$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1]))['block_linear_tensors']; sys.exit(0 if d == {'file_codes': 1, 'requantize': 1, 'float': 1} else 1)" "$work/m.json"
head -c 5000 "${SRC:-.}/tests/data/tokenizers/ggml-vocab-llama-spm.gguf" >"$work/cut.gguf"
check "inspect truncated gguf" run 1 inspect "$work/cut.gguf"
check "inspect truncated gguf one line" one_line_err "cut.gguf: "

# The BLAS set-up: oacim starts itself with non-spinning workers, leaves what the user set, and
# says when OpenBLAS runs a generic core (forced here; this CPU's own core is not generic).
check "env runs" env -u OMP_WAIT_POLICY -u OPENBLAS_THREAD_TIMEOUT -u OACIM_BLAS_ENVIRONMENT "$OACIM" env --matmul-size 0 --json "$work/env.json" >"$work/out" 2>"$work/err"
if grep -q "OpenBLAS core" "$work/out"; then
  check "env: oacim set the wait policy" grep -q "OMP_WAIT_POLICY=PASSIVE (set by oacim)" "$work/out"
  check "env json: what oacim set" "$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if 'OMP_WAIT_POLICY' in d['blas_environment_set_by_oacim'] and 'OPENBLAS_THREAD_TIMEOUT' in d['blas_environment_set_by_oacim'] else 1)" "$work/env.json"
  OMP_WAIT_POLICY=ACTIVE "$OACIM" env --matmul-size 0 >"$work/out" 2>&1
  check "env: the user's setting stays" grep -q "OMP_WAIT_POLICY=ACTIVE$" "$work/out"
  if grep -q avx512f /proc/cpuinfo; then
    OPENBLAS_CORETYPE=PRESCOTT "$OACIM" env --matmul-size 0 >"$work/out" 2>&1
    check "env: a generic core is named" grep -q "OpenBLAS core: Prescott (generic)" "$work/out"
    check "env: and warned of" grep -q "warning: OpenBLAS runs its generic 'Prescott' kernels.*OPENBLAS_CORETYPE=SKYLAKEX" "$work/out"
  fi
  OACIM_BLAS_ENVIRONMENT=keep env -u OMP_WAIT_POLICY "$OACIM" env --matmul-size 0 >"$work/out" 2>&1
  check "env: keep leaves the workers spinning, with a warning" grep -q "warning: OpenBLAS/OpenMP workers spin" "$work/out"
fi

echo "cli: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
