#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/: small valid files
of every format the loaders read, made from the bundled data or written here, so that mutations
start from deep inside each parser. Deterministic; run it again after a format changes.

Usage: python3 tests/fuzz/make_corpus.py OACIM_BINARY
"""
import base64
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
OACIM = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "oacim")
SEP = b"\n=====\n"
rng = random.Random(0)


def small_gguf():
    """A GGUF v3 file: a few metadata keys (u32, f32, string, string array) and tensors F32, F16,
    Q4_0, Q4_1, Q8_0 and Q4_K of one block each, 32-byte aligned."""
    def string(v):
        b = v.encode()
        return struct.pack("<Q", len(b)) + b
    kv = [(b"general.architecture", 8, string("llama")), (b"llama.block_count", 4, struct.pack("<I", 1)),
          (b"llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5)),
          (b"tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + string("<s>") + string("a") + string("b"))]
    blocks = [("f32", 0, 4, struct.pack("<4f", 1, 2, 3, 4)), ("f16", 1, 2, struct.pack("<2e", 0.5, -1)),
              ("q4_0", 2, 32, struct.pack("<e", 0.5) + bytes(range(16))),
              ("q4_1", 3, 32, struct.pack("<ee", 0.25, -1) + bytes(range(16))),
              ("q8_0", 8, 32, struct.pack("<e", 0.125) + bytes(range(32))),
              ("q4_k", 12, 256, struct.pack("<ee", 1, 0.5) + bytes(range(12)) + bytes([0x33]) * 128)]
    out = struct.pack("<IIQQ", 0x46554747, 3, len(blocks), len(kv))
    for k, t, v in kv:
        out += struct.pack("<Q", len(k)) + k + struct.pack("<I", t) + v
    data, offset = b"", 0
    for name, t, n, payload in blocks:
        out += string(name) + struct.pack("<IQIQ", 1, n, t, len(data))
        data += payload + b"\0" * ((32 - len(payload) % 32) % 32)
    out += b"\0" * ((32 - len(out) % 32) % 32)
    return out + data


def matrix_gguf():
    """A GGUF v3 file with one 2 x 32 matrix each of Q4_0, Q4_1 (rows of one block) and a 1 x 256 Q4_K:
    the shapes gguf_to_packed maps onto the cells."""
    def string(v):
        b = v.encode()
        return struct.pack("<Q", len(b)) + b
    blocks = [("q4_0", 2, [32, 2], (struct.pack("<e", 0.5) + bytes(range(16))) + (struct.pack("<e", -0.25) + bytes(range(16, 32)))),
              ("q4_1", 3, [32, 2], (struct.pack("<ee", 0.25, -1) + bytes(range(16))) * 2),
              ("q4_k", 12, [256, 1], struct.pack("<ee", 1, 0.5) + bytes(range(12)) + bytes([0x33]) * 128)]
    out = struct.pack("<IIQQ", 0x46554747, 3, len(blocks), 1)
    out += string("general.architecture") + struct.pack("<I", 8) + string("llama")
    data = b""
    for name, t, shape, payload in blocks:
        out += string(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        out += struct.pack("<IQ", t, len(data))
        data += payload + b"\0" * ((32 - len(payload) % 32) % 32)
    out += b"\0" * ((32 - len(out) % 32) % 32)
    return out + data


def gptq_layer():
    """One GPTQ Linear of 8 outputs x 64 inputs, 4 bits, groups of 32, act-order g_idx, v1 zeros."""
    r = random.Random(7)  # its own generator: the other seeds stay as they are
    qweight = struct.pack("<" + "I" * (8 * 8), *[r.getrandbits(32) for _ in range(64)])
    qzeros = struct.pack("<" + "I" * 2, 0x77777777, 0x12345678)
    scales = struct.pack("<" + "e" * 16, *[0.01 * (i + 1) for i in range(16)])
    order = list(range(64))
    r.shuffle(order)
    g_idx = [0] * 64
    for i, c in enumerate(order):
        g_idx[c] = i // 32
    return safetensors({"qweight": ("I32", [8, 8], qweight), "qzeros": ("I32", [2, 1], qzeros),
                        "scales": ("F16", [2, 8], scales), "g_idx": ("I32", [64], struct.pack("<64i", *g_idx))},
                       {"bits": "4", "format": "gptq"})


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    """tensors: name -> (dtype, shape, raw bytes)."""
    header, offset, blob = {}, 0, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blob += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def f32(values):
    return struct.pack(f"<{len(values)}f", *values)


def oacim(*args, cwd=None):
    subprocess.run([OACIM, *args], check=True, cwd=cwd or ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    tmp = tempfile.mkdtemp()
    # safetensors and packed layers
    put("safetensors", "three_dtypes.safetensors", safetensors({
        "a": ("F32", [2, 3], f32([0.5, -1, 2, 3.25, 0, 1e-3])),
        "b": ("I8", [4], bytes([1, 255, 7, 128])),
        "c": ("BF16", [2], struct.pack("<2H", 0x3F80, 0xC000))}, {"note": "seed"}))
    oacim("pack-demo", "--rows", "8", "--cols", "32", "--block-size", "16", "--out", f"{tmp}/p1.safetensors")
    oacim("pack-demo", "--rows", "32", "--cols", "64", "--block-size", "32", "--qq-scale-bits", "4", "--qq-zero-bits", "4",
          "--out", f"{tmp}/p2.safetensors")
    for k in ("p1", "p2"):
        data = open(f"{tmp}/{k}.safetensors", "rb").read()
        put("packed", f"{k}.safetensors", data)
        put("safetensors", f"{k}.safetensors", data)
    # llama2.c checkpoint: dim 8, hidden 16, 1 layer, 2 heads, 1 kv head, vocab 8, seq_len 4
    dim, hidden, layers, heads, kv, vocab, seq = 8, 16, 1, 2, 1, 8, 4
    kvd = dim // heads * kv
    counts = [vocab * dim, layers * dim, layers * dim * dim, layers * kvd * dim, layers * kvd * dim, layers * dim * dim,
              layers * dim, layers * hidden * dim, layers * dim * hidden, layers * hidden * dim, dim,
              2 * seq * (dim // heads // 2)]
    weights = [round(rng.gauss(0, 0.1), 4) for _ in range(sum(counts))]
    put("llama2c_checkpoint", "tiny.bin", struct.pack("<7i", dim, hidden, layers, heads, kv, vocab, seq) + f32(weights))
    # llama2.c tokenizer: 2 bytes of vocabulary size - 1, then tokenizer.bin
    pieces = ["<unk>", "\n<s>\n", "\n</s>\n", "a", "b", "ab", " ", "\xe2\x96\x81"]
    tok = struct.pack("<i", 8)
    for i, p in enumerate(pieces):
        raw = p.encode("latin-1") if p.startswith("\xe2") else p.encode()
        tok += struct.pack("<fi", -float(i), len(raw)) + raw
    put("llama2c_tokenizer", "tiny.bin", struct.pack(">H", len(pieces) - 1) + tok)
    put("llama2c_tokenizer", "stories260K.bin", struct.pack(">H", 511) + open(f"{ROOT}/tests/data/stories260K/tok512.bin", "rb").read())
    # SentencePiece model: repeated field 1 {1: piece, 2: score, 3: type}
    def varint(n):
        out = b""
        while True:
            b = n & 0x7F
            n >>= 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out
    model = b""
    for i, p in enumerate(["<unk>", "<s>", "</s>", "\u2581a", "b", "\u2581ab", "<0x41>"]):
        raw = p.encode()
        body = b"\x0a" + varint(len(raw)) + raw + b"\x15" + struct.pack("<f", -float(i)) + b"\x18" + varint(1 if i > 2 else 2)
        model += b"\x0a" + varint(len(body)) + body
    put("sentencepiece", "tiny.model", model)
    # tokenizer.json: GPT-2 style (byte level) and LLaMA style (Metaspace, byte fallback)
    put("tokenizer_json", "bytelevel.json", json.dumps({
        "version": "1.0", "added_tokens": [{"id": 6, "content": "<|endoftext|>", "special": True}],
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False}, "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120a": 4, "c": 5}, "merges": ["a b", "\u0120 a"]}}))
    put("tokenizer_json", "metaspace.json", json.dumps({
        "version": "1.0", "added_tokens": [{"id": 0, "content": "<unk>", "special": True},
                                           {"id": 1, "content": "<s>", "special": True},
                                           {"id": 2, "content": "</s>", "special": True}],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                          {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}]},
        "model": {"type": "BPE", "byte_fallback": True, "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x41>": 3, "\u2581": 4, "a": 5,
                                                                  "\u2581a": 6}, "merges": [["\u2581", "a"]]}}))
    # vocab.json + merges.txt
    put("vocab_merges", "tiny.txt", json.dumps({"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4}).encode() + SEP +
        "#version: 0.2\na b\n\u0120 ab\n".encode())
    # Hugging Face config.json of the three families
    put("hf_config", "llama.json", json.dumps({"model_type": "llama", "hidden_size": 8, "intermediate_size": 16,
                                                "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                                                "vocab_size": 16, "max_position_embeddings": 32, "rms_norm_eps": 1e-5,
                                                "rope_theta": 10000.0, "tie_word_embeddings": True}))
    put("hf_config", "opt.json", json.dumps({"model_type": "opt", "hidden_size": 8, "num_hidden_layers": 1, "ffn_dim": 16,
                                              "num_attention_heads": 2, "vocab_size": 16, "max_position_embeddings": 32,
                                              "do_layer_norm_before": True, "word_embed_proj_dim": 8}))
    put("hf_config", "gpt2.json", json.dumps({"model_type": "gpt2", "n_embd": 8, "n_layer": 1, "n_head": 2, "vocab_size": 16,
                                               "n_positions": 32}))
    # token sample file
    oacim("calib", "--model", "tests/data/stories260K/stories260K.bin", "--n", "2", "--len", "12", "--out", f"{tmp}/cal.safetensors",
          "--threads", "1")
    put("token_file", "calib.safetensors", open(f"{tmp}/cal.safetensors", "rb").read())
    # configs
    for f in sorted(os.listdir(f"{ROOT}/configs/hw")):
        put("hw_yaml", f, open(f"{ROOT}/configs/hw/{f}", "rb").read())
    put("experiment_yaml", "default.yaml", open(f"{ROOT}/configs/default.yaml", "rb").read())
    put("experiment_yaml", "fixture.yaml", open(f"{ROOT}/tests/data/report/fixture.yaml", "rb").read())
    put("experiment_yaml", "sweep.yaml", "model: m.bin\ndatasets: [a.txt, wikitext2]\nquantization:\n  method: [rtn, oa]\n"
        "  offsets: [false, true]\nsweep:\n  zip: [[quantization.method, quantization.offsets]]\nhardware:\n  set:\n"
        "    macro.rows: [32, 64]\nthresholds: {max_overflows: off}\n")
    put("results_json", "results.json", open(f"{ROOT}/tests/data/report/results.json", "rb").read())
    # C4 JSON lines
    put("c4_jsonl", "docs.json", "".join(json.dumps({"text": " ".join(["word"] * (5 + 7 * i)), "url": f"u{i}"}) + "\n"
                                         for i in range(6)))
    # GGUF: metadata of every kind and one tensor of each block format oacim reads
    put("gguf", "small.gguf", small_gguf())
    put("gguf", "matrices.gguf", matrix_gguf())
    put("gptq_layer", "act_order.safetensors", gptq_layer())
    # zero-shot task files
    for f in ("tiny_choice.jsonl", "tiny_last_word.jsonl"):
        put("task_jsonl", f, open(f"{ROOT}/tests/data/tasks/{f}", "rb").read())
    # torch targets: a quantized directory of the bundled model, and a tiny HF LLaMA directory
    oacim("quantize", "--model", "tests/data/stories260K/stories260K.bin", "--method", "rtn", "--out", f"{tmp}/q", "--threads", "1")
    put("quantized_dir", "rtn.safetensors", open(f"{tmp}/q/quantized.safetensors", "rb").read())
    cfg = json.load(open(os.path.join(OUT, "hf_config", "llama.json")))
    d, h, v, kvd = 8, 16, 16, 4
    t = {"model.embed_tokens.weight": ("F32", [v, d], f32([0.01 * i for i in range(v * d)])),
         "model.norm.weight": ("F32", [d], f32([1.0] * d))}
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        for name, shape in (("self_attn.q_proj", [d, d]), ("self_attn.k_proj", [kvd, d]), ("self_attn.v_proj", [kvd, d]),
                            ("self_attn.o_proj", [d, d]), ("mlp.gate_proj", [h, d]), ("mlp.up_proj", [h, d]),
                            ("mlp.down_proj", [d, h])):
            t[p + name + ".weight"] = ("F32", shape, f32([round(rng.gauss(0, 0.1), 3) for _ in range(shape[0] * shape[1])]))
        for name in ("input_layernorm", "post_attention_layernorm"):
            t[p + name + ".weight"] = ("F32", [d], f32([1.0] * d))
    put("hf_model", "llama.bin", json.dumps(cfg).encode() + SEP + safetensors(t))
    shutil.rmtree(tmp)
    # Inputs libFuzzer found (tools/fuzz.sh), kept as regression seeds.
    put("tokenizer_json", "regress_oom_added_tokens.json", base64.b64decode(
        "eyJ2ZXJzaW9uIjogIjEuMCIsICJhZGRlZF90b2tlbnMiOiBbeyJpZCI6IDYsICJjb250ZW50IjogIjx8ZW5kb2Z0ZXhMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMdHw+IiwgInNwZWNpYWwiOiB0cnVlfV0sICJwcmVfdG9rZW5pemVyIjogeyJ0eXBlIjogIkJ5dGVMZXZlbCIsICJhZGRfcHJlZml4X3NwYWNlIjogZmFsc2V9LCAiZGVjb2RdciI6IHsidHlwZSI6ICJCeXRlTGV2ZWwifSwgIm1vZGVsIjogeyJ0eXBlIjogIkJQRSIsICJ2b2NhYiI6IHsiYSI6IDAsICJiIjogMTExMTExMTExMTExMTExMTExMSwgImFiIjogMiwgIlx1MDEyMCI6IDMsICJcdTAwNjBhIjogNCwgImMiOiA1fSwgIm1lcmdlcyI6IFsiYSBiIiwgIlx1MDEyMCBhIl19fQ=="))
    put("hf_config", "regress_16M_blocks.json", json.dumps({"model_type": "gpt2", "n_embd": 8, "n_head": 2,
                                                          "n_layer": 16666626, "vocab_size": 16, "n_positions": 32}))
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"corpus: {sum(len(fs) for _, _, fs in os.walk(OUT))} seeds, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
