"""The Python module against the C++ tool: HwLinear bit for bit against the hw model of `oacim
cosim` on a real stories260K layer, RTN against the C++ packer, GPTQ/OA through the binding, the
packed format through torch tensors, and the Linear swap on a small torch model."""
import json
import os
import struct
import subprocess

import numpy as np
import pytest
import torch

import oacim

OACIM = os.environ.get("OACIM", "build/oacim")
SRC = os.environ.get("SRC", ".")
MODEL = os.path.join(SRC, "tests/data/stories260K/stories260K.bin")
LAYER = "layers.1.attention.wq"


def read_safetensors(path):
    """name -> array of a safetensors file (F32 only), read independently of oacim."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", t
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(t["shape"])
    return out


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("layer") / LAYER)
    subprocess.run([OACIM, "cosim", "--model", MODEL, "--layer", LAYER, "--tokens", "64", "--save", prefix,
                    "--threads", "1", "--text", os.path.join(SRC, "tests/data/tinystories-valid-slice.txt")],
                   check=True, capture_output=True)
    return {
        "packed": oacim.PackedWeights.load(prefix + ".weights.safetensors"),
        "x": read_safetensors(prefix + ".inputs.safetensors")["x"],
        "y": read_safetensors(prefix + ".outputs.safetensors")["y"],
        "w": read_safetensors(prefix + ".float_weight.safetensors")["weight"],
    }


def test_hwlinear_equals_the_tool_hw_model_bit_for_bit(layer):
    lin = oacim.HwLinear(layer["packed"])
    y = lin(torch.from_numpy(layer["x"].copy()))
    expected = torch.from_numpy(layer["y"].copy())
    assert y.shape == expected.shape
    assert torch.equal(y.view(torch.int32), expected.view(torch.int32))  # the bits, not closeness
    assert lin.counters["macs"] > 0 and lin.counters["tokens"] == layer["x"].shape[0]


def test_every_kernel_gives_the_same_bits(layer):
    x = layer["x"]
    generic, _ = oacim.Datapath(layer["packed"], oacim.HwConfig.default(), "generic").forward(x)
    best, _ = oacim.Datapath(layer["packed"], oacim.HwConfig.default()).forward(x)
    assert np.array_equal(generic.view(np.int32), best.view(np.int32))


def test_rtn_equals_the_tool_packer(layer):
    ours = oacim.pack_rtn(torch.from_numpy(layer["w"].copy()), bits=4, block_size=32, outliers=True, offsets=True)
    theirs, _, _ = oacim.packed_to_tensors(layer["packed"])
    mine, meta, dtypes = oacim.packed_to_tensors(ours)
    assert sorted(mine) == sorted(theirs)
    for name in mine:
        assert torch.equal(mine[name], theirs[name]), name
    assert oacim.packed_from_tensors(mine, meta, dtypes).outlier_count() == ours.outlier_count()


def test_gptq_and_oa_beat_rtn_on_the_layer_inputs(layer):
    w, x = torch.from_numpy(layer["w"].copy()), torch.from_numpy(layer["x"].copy())

    def output_error(packed):
        d = w - torch.from_numpy(packed.dequantize())
        return float((x @ d.T).pow(2).sum() / (x @ w.T).pow(2).sum())

    rtn = output_error(oacim.pack_rtn(w, outliers=True))
    for method in ("gptq", "oa"):
        packed, stats = oacim.quantize_layer(w, inputs=x, method=method, outliers=method == "oa")
        again, _ = oacim.quantize_layer(w, inputs=x, method=method, outliers=method == "oa")
        assert np.array_equal(packed.dequantize(), again.dequantize())  # deterministic
        assert output_error(packed) < rtn, (method, output_error(packed), rtn)
        assert stats["stored_bits"] == 4 * w.numel()
    h = (x.T @ x).numpy()
    packed, _ = oacim.quantize_layer(w, hessian=h, method="gptq")
    assert packed.rows == w.shape[0]


def test_swap_linears_puts_the_chip_into_a_torch_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 96), torch.nn.ReLU(), torch.nn.Linear(96, 32))
    x = torch.randn(4, 64)
    y_float = model(x)
    swapped = oacim.swap_linears(model, method="rtn", block_size=32, outliers=True)
    assert swapped == ["0", "2"]
    assert all(isinstance(model[i], oacim.HwLinear) for i in (0, 2))
    y = model(x)
    assert float((y - y_float).norm() / y_float.norm()) < 0.1
    # Straight-through gradient: that of the stored weights' Linear.
    xg = x.clone().requires_grad_(True)
    model[0](xg).sum().backward()
    assert torch.allclose(xg.grad, model[0].weight_q.sum(0).expand_as(xg), atol=1e-5)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="2-D"):
        oacim.pack_rtn(np.zeros(8, dtype=np.float32))
    with pytest.raises(ValueError, match="needs a Hessian or calibration inputs"):
        oacim.quantize_layer(torch.zeros(8, 32), method="oa")
    lin = oacim.HwLinear(oacim.pack_rtn(torch.randn(8, 32)))
    with pytest.raises(ValueError, match="columns"):
        lin(torch.zeros(2, 16))
    with pytest.raises(ValueError):
        oacim.HwConfig.load("/nonexistent.yaml")
