"""oacim in Python: the outlier-aware INT4 CIM accelerator's arithmetic inside any PyTorch model.

PackedWeights (the chip's packed INT4 format) to and from torch tensors, the layer quantizers
(RTN, GPTQ, OA-CIM with outliers and offsets), and HwLinear: a torch.nn.Module whose forward runs
the bit-accurate datapath (straight-through gradient in backward). docs/library.md.
"""
import numpy as np
import torch

from ._oacim import Datapath, HwConfig, PackedWeights, __version__
from ._oacim import pack_rtn as _pack_rtn
from ._oacim import quantize_layer as _quantize_layer

__all__ = ["Datapath", "HwConfig", "PackedWeights", "HwLinear", "pack_rtn", "quantize_layer", "packed_to_tensors",
           "packed_from_tensors", "swap_linears", "__version__"]


def _numpy(t):
    """A float32 C-contiguous NumPy copy of a tensor or array."""
    if isinstance(t, torch.Tensor):
        return t.detach().to(torch.float32).cpu().contiguous().numpy()
    return np.ascontiguousarray(t, dtype=np.float32)


def pack_rtn(weight, bits=4, block_size=32, outliers=False, offsets=False):
    """Round-to-nearest of a [rows, cols] weight into the packed format."""
    return _pack_rtn(_numpy(weight), bits, block_size, outliers, offsets)


def quantize_layer(weight, hessian=None, inputs=None, method="oa", bits=4, block_size=32, outliers=False,
                   offsets=False, percdamp=0.01):
    """(PackedWeights, stats) of one Linear: method rtn | gptq | oa, with a Hessian [cols, cols] or
    calibration inputs [tokens, cols] (any leading shape), as `oacim quantize` quantizes a layer."""
    if inputs is not None:
        inputs = _numpy(inputs).reshape(-1, np.shape(inputs)[-1])
    return _quantize_layer(_numpy(weight), None if hessian is None else _numpy(hessian), inputs, method, bits,
                           block_size, outliers, offsets, percdamp)


def packed_to_tensors(packed):
    """(tensors, metadata, dtypes): the packed layer's safetensors form as torch tensors (BF16 values
    travel as their raw bits in int16-sized integer tensors; `dtypes` names each tensor's format)."""
    tensors, metadata, dtypes = packed.to_tensors()
    # torch has no unsigned 16/32/64-bit types: those travel as the signed type of the same width.
    signed = {np.dtype(np.uint16): np.int16, np.dtype(np.uint32): np.int32, np.dtype(np.uint64): np.int64}
    return {k: torch.from_numpy(v.view(signed.get(v.dtype, v.dtype))) for k, v in tensors.items()}, metadata, dtypes


def packed_from_tensors(tensors, metadata, dtypes):
    """The PackedWeights of packed_to_tensors()'s output (every invariant checked again)."""
    arrays = {k: (v.detach().cpu().contiguous().numpy() if isinstance(v, torch.Tensor) else np.ascontiguousarray(v))
              for k, v in tensors.items()}
    return PackedWeights.from_tensors(arrays, metadata, dtypes)


class _HwMatmul(torch.autograd.Function):
    """y = the datapath's x @ W^T, bit for bit; the gradient is that of x @ Wq^T (straight through),
    Wq being the weights the chip stores."""

    @staticmethod
    def forward(ctx, x2d, datapath, weight_q, threads, counters):
        y, c = datapath.forward(_numpy(x2d), threads)
        for k, v in c.items():
            if k in ("weight_ones", "weight_bits"):
                counters[k] = v  # properties of the stored layer, not of the call
            else:
                counters[k] = counters.get(k, 0) + v
        ctx.save_for_backward(weight_q)
        return torch.from_numpy(y).to(x2d.dtype)

    @staticmethod
    def backward(ctx, grad):
        (weight_q,) = ctx.saved_tensors
        return grad @ weight_q.to(grad.dtype), None, None, None, None


class HwLinear(torch.nn.Module):
    """A Linear whose forward runs on the chip's bit-accurate datapath.

    packed: PackedWeights; config: HwConfig, a YAML path or None (the built-in defaults); bias: a
    tensor or None. `counters` sums the datapath's event counters over every forward.
    """

    def __init__(self, packed, config=None, bias=None, threads=0, kernel="auto"):
        super().__init__()
        if config is None:
            config = HwConfig.default()
        elif isinstance(config, str):
            config = HwConfig.load(config)
        self.packed = packed
        self.config = config
        self.datapath = Datapath(packed, config, kernel)
        self.threads = threads
        self.in_features, self.out_features = packed.cols, packed.rows
        self.register_buffer("weight_q", torch.from_numpy(packed.dequantize()))
        self.bias = None if bias is None else torch.nn.Parameter(bias.detach().clone().to(torch.float32))
        self.counters = {}

    @classmethod
    def from_linear(cls, linear, config=None, method="rtn", bits=4, block_size=32, outliers=False, offsets=False,
                    hessian=None, inputs=None, threads=0, kernel="auto"):
        """Quantize a torch.nn.Linear (rtn, or gptq/oa with a Hessian or calibration inputs) onto the chip."""
        if method == "rtn" and hessian is None and inputs is None:
            packed = pack_rtn(linear.weight, bits, block_size, outliers, offsets)
        else:
            packed, _ = quantize_layer(linear.weight, hessian, inputs, method, bits, block_size, outliers, offsets)
        return cls(packed, config, linear.bias, threads, kernel)

    def forward(self, x):
        shape = x.shape
        y = _HwMatmul.apply(x.reshape(-1, shape[-1]), self.datapath, self.weight_q, self.threads, self.counters)
        y = y.reshape(*shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"hw={self.config.name or 'defaults'}, kernel={self.datapath.kernel}")


def swap_linears(model, config=None, skip=(), **quantization):
    """Replace every torch.nn.Linear of `model` (by its qualified name, except those in `skip`) with an
    HwLinear quantized by `quantization` (HwLinear.from_linear's options). Returns the names swapped."""
    swapped = []
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, torch.nn.Linear) and full not in skip:
                setattr(module, child_name, HwLinear.from_linear(child, config, **quantization))
                swapped.append(full)
    return swapped
