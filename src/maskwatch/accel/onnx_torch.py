"""Run a small ONNX graph with PyTorch ops, so the GPU backend needs only torch.

(onnx2torch would do, but it imports torchvision, which does not install beside our torch.) Covers the
operators of our graphs (RetinaFace, the mask classifiers) and the common ones of small CNNs;
an unknown operator fails at load time with its name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import Tensor


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads(a: dict[str, Any], dims: int) -> list[int]:
    p = a.get("pads", [0] * 2 * dims)
    return [v for i in reversed(range(dims)) for v in (p[i], p[i + dims])]  # ONNX begin..end → F.pad order


def _conv(x: Tensor, w: Tensor, b: Tensor | None = None, **a: Any) -> Tensor:
    pads = a.get("pads", [0, 0, 0, 0])
    if pads[:2] != pads[2:]:
        x, pads = F.pad(x, _pads(a, 2)), [0, 0]
    return F.conv2d(x, w, b, a.get("strides", 1), pads[:2], a.get("dilations", 1), a.get("group", 1))


def _pool(fn: Callable[..., Tensor], x: Tensor, **a: Any) -> Tensor:
    x = F.pad(x, _pads(a, 2), value=-float("inf") if fn is F.max_pool2d else 0.0) if any(a.get("pads", [0])) else x
    return fn(x, a["kernel_shape"], a.get("strides", a["kernel_shape"]), ceil_mode=bool(a.get("ceil_mode", 0)))


def _resize(
    x: Tensor, roi: Tensor | None = None, scales: Tensor | None = None, sizes: Tensor | None = None, **a: Any
) -> Tensor:
    mode = a.get("mode", b"nearest").decode()
    if sizes is not None and sizes.numel():
        size = [int(v) for v in sizes.tolist()[2:]]
        return F.interpolate(x, size=size, mode="nearest" if mode == "nearest" else "bilinear")
    assert scales is not None  # Resize gives sizes or scales
    factor = [float(v) for v in scales.tolist()[2:]]
    return F.interpolate(x, scale_factor=factor, mode="nearest" if mode == "nearest" else "bilinear")


def _slice(
    x: Tensor, starts: Tensor, ends: Tensor, axes: Tensor | None = None, steps: Tensor | None = None, **a: Any
) -> Tensor:
    axis_list = axes.tolist() if axes is not None else list(range(len(starts)))
    step_list = steps.tolist() if steps is not None else [1] * len(starts)
    index = [slice(None)] * x.dim()
    for s, e, ax, st in zip(starts.tolist(), ends.tolist(), axis_list, step_list, strict=True):
        if st < 0:  # torch slices only forwards: the positions as Python counts them, gathered (a flip, say)
            picked = torch.arange(*slice(s, e, st).indices(x.shape[ax]), device=x.device)
            x = x.index_select(ax, picked)
        else:
            index[ax] = slice(s, min(e, x.shape[ax]), st)
    return x[tuple(index)]


def _constant_of_shape(shape: Tensor, **a: Any) -> Tensor:
    """On the CPU, as shape arithmetic is (F.pad's exported pads are made of one)."""
    value = numpy_helper.to_array(a["value"]).reshape(-1) if "value" in a else np.zeros(1, np.float32)
    return torch.from_numpy(np.full(shape.tolist(), value[0], value.dtype))


def _axes(ax_input: Tensor | None, a: dict[str, Any]) -> list[int]:
    """Axes come as an input tensor from opset 13 on, as an attribute before."""
    return ax_input.tolist() if ax_input is not None else list(a.get("axes", []))


def _unsqueeze_many(x: Tensor, axes: list[int]) -> Tensor:
    for ax in sorted(axes):
        x = x.unsqueeze(ax)
    return x


def _gemm(a_: Tensor, b_: Tensor, c: Tensor | None = None, **a: Any) -> Tensor:
    a_ = a_.T if a.get("transA") else a_
    b_ = b_.T if a.get("transB") else b_
    y = a.get("alpha", 1.0) * (a_ @ b_)
    return y + a.get("beta", 1.0) * c if c is not None else y


OPS: dict[str, Callable[..., Tensor]] = {
    "Conv": _conv,
    "Relu": lambda x, **a: F.relu(x),
    "LeakyRelu": lambda x, **a: F.leaky_relu(x, a.get("alpha", 0.01)),
    "Sigmoid": lambda x, **a: torch.sigmoid(x),
    "HardSigmoid": lambda x, **a: torch.clamp(x * a.get("alpha", 0.2) + a.get("beta", 0.5), 0, 1),
    "HardSwish": lambda x, **a: F.hardswish(x),
    "Clip": lambda x, lo=None, hi=None, **a: torch.clamp(
        x, lo if lo is None else lo.item(), hi if hi is None else hi.item()
    ),
    "Add": lambda x, y, **a: x + y,
    "Sub": lambda x, y, **a: x - y,
    "Mul": lambda x, y, **a: x * y,
    "Div": lambda x, y, **a: x / y,
    "MatMul": lambda x, y, **a: x @ y,
    "Gemm": _gemm,
    "Concat": lambda *xs, **a: torch.cat(xs, a["axis"]),
    "Transpose": lambda x, **a: x.permute(*a["perm"]),
    "Reshape": lambda x, s, **a: x.reshape([x.shape[i] if v == 0 else v for i, v in enumerate(s.tolist())]),
    "Flatten": lambda x, **a: (
        x.flatten(a.get("axis", 1)) if a.get("axis", 1) == 0 else x.reshape(*x.shape[: a.get("axis", 1)], -1)
    ),
    "Softmax": lambda x, **a: torch.softmax(x, a.get("axis", -1)),
    "Shape": lambda x, **a: torch.tensor(x.shape, dtype=torch.int64),
    "Gather": lambda x, i, **a: torch.index_select(x, a.get("axis", 0), i.reshape(-1).to(x.device)).reshape(
        [*x.shape[: a.get("axis", 0)], *i.shape, *x.shape[a.get("axis", 0) + 1 :]]
    ),
    "Unsqueeze": lambda x, ax=None, **a: (
        x.unsqueeze(_axes(ax, a)[0]) if len(_axes(ax, a)) == 1 else _unsqueeze_many(x, _axes(ax, a))
    ),
    "Squeeze": lambda x, ax=None, **a: x.squeeze(*_axes(ax, a)) if _axes(ax, a) else x.squeeze(),
    "Slice": _slice,
    "ConstantOfShape": _constant_of_shape,
    "Cast": lambda x, **a: x.to(torch.int64) if a["to"] == onnx.TensorProto.INT64 else x.float(),
    "Resize": _resize,
    "Identity": lambda x, **a: x,
    "GlobalAveragePool": lambda x, **a: x.mean((2, 3), keepdim=True),
    "ReduceMean": lambda x, ax=None, **a: x.mean(_axes(ax, a), keepdim=bool(a.get("keepdims", 1))),
    "AveragePool": lambda x, **a: _pool(F.avg_pool2d, x, **a),
    "MaxPool": lambda x, **a: _pool(F.max_pool2d, x, **a),
    "BatchNormalization": lambda x, s, b, m, v, **a: F.batch_norm(x, m, v, s, b, False, 0.0, a.get("epsilon", 1e-5)),
    "Pad": lambda x, p, v=None, **a: F.pad(
        x,
        [int(q) for i in reversed(range(x.dim())) for q in (p[i], p[i + x.dim()])],
        value=0.0 if v is None else float(v),
    ),
}


class OnnxModule(torch.nn.Module):
    """An ONNX graph as a torch Module: weights as buffers (moved by .to()), nodes run in graph order.

    Integer constants and Shape results stay on the CPU: they are shape arithmetic, read with .tolist(),
    and mixing them with GPU tensors in Concat would fail.
    """

    def __init__(self, path: str | Path):
        super().__init__()
        model = onnx.load(str(path))
        graph = model.graph
        self.nodes = [(n.op_type, list(n.input), list(n.output), _attrs(n)) for n in graph.node]
        unknown = sorted({op for op, *_ in self.nodes} - set(OPS) - {"Constant"})
        if unknown:
            raise NotImplementedError(f"{Path(path).name}: ONNX operators without a torch version here: {unknown}")
        self.names: dict[str, str] = {}
        self.int_consts: dict[str, torch.Tensor] = {}
        for i, init in enumerate(graph.initializer):
            self._store(init.name, numpy_helper.to_array(init), i)
        for op, _, outputs, a in self.nodes:
            if op == "Constant":
                self._store(outputs[0], numpy_helper.to_array(a["value"]), f"c{len(self.names)}")
        self.inputs = [i.name for i in graph.input if i.name not in self.names and i.name not in self.int_consts]
        self.outputs = [o.name for o in graph.output]

    def _store(self, name: str, array: np.ndarray, key: int | str) -> None:
        if array.dtype.kind in "iu":
            self.int_consts[name] = torch.from_numpy(np.array(array, np.int64))
            return
        buffer = f"w{key}"
        self.register_buffer(buffer, torch.from_numpy(np.array(array)), persistent=False)
        self.names[name] = buffer

    def forward(self, *args: Tensor) -> Tensor | tuple[Tensor, ...]:
        values = {n: getattr(self, b) for n, b in self.names.items()} | self.int_consts
        values.update(zip(self.inputs, args, strict=True))
        for op, inputs, outputs, a in self.nodes:
            if op == "Constant":
                continue
            result = OPS[op](*[values[i] if i else None for i in inputs], **a)
            values[outputs[0]] = result
        out = [values[o] for o in self.outputs]
        return out[0] if len(out) == 1 else tuple(out)
