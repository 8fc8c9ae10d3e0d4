"""The classifier networks (MaskNet, fine-tuned from the face detector's backbone; MobileNetV2 from ImageNet weights),
the registry `--network` names them by, and the ONNX-facing wrapper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from maskwatch.core.errors import UserError
from maskwatch.detect.retinaface import BGR_MEAN as DETECTOR_MEAN
from maskwatch.detect.retinaface import DEFAULT_MODEL as DETECTOR_MODEL
from maskwatch.train.mobilenet_v2 import KERAS_WEIGHTS, MobileNetV2Net

BACKBONE_CONVS = 27  # stages 1-3 of MobileNet-0.25: one stem conv, then 13 depthwise + pointwise pairs


def detector_backbone(path: Path = DETECTOR_MODEL) -> list[tuple[np.ndarray, np.ndarray, int, int]]:
    """(weight, bias, stride, groups) of every backbone conv in the shipped RetinaFace graph, BN already folded."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:  # the exporter aliases some initializers through Identity nodes
        if node.op_type == "Identity" and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    convs = []
    for node in graph.node:
        if node.op_type == "Conv" and node.output[0].startswith("/fx/"):
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            convs.append((tensors[node.input[1]], tensors[node.input[2]], attrs["strides"][0], attrs.get("group", 1)))
    if len(convs) != BACKBONE_CONVS:
        raise ValueError(f"{path}: expected {BACKBONE_CONVS} backbone convs under /fx/, found {len(convs)}")
    return convs


class MaskNet(nn.Module):
    """NCHW float input (centred by Preprocess) -> class logits.

    The body is the MobileNet-0.25 backbone of the shipped face detector, started from its face-trained weights
    and fine-tuned whole; a linear head on the pooled features gives the three classes. Started from scratch,
    the same body (it has no BN: the detector's BN is folded into its convs) did not train.
    """

    def __init__(self, num_classes: int = 3, dropout: float = 0.2, backbone: Path = DETECTOR_MODEL):
        super().__init__()
        layers: list[nn.Module] = []
        c_out = 0  # channels of the last convolution, the head's input
        for weight, bias, stride, groups in detector_backbone(backbone):
            c_out, c_in_per_group, k, _ = weight.shape
            conv = nn.Conv2d(c_in_per_group * groups, c_out, k, stride, k // 2, groups=groups)
            conv.weight.data.copy_(torch.from_numpy(weight.copy()))  # onnx arrays are read-only
            assert conv.bias is not None  # made with a bias
            conv.bias.data.copy_(torch.from_numpy(bias.copy()))
            layers += [conv, nn.LeakyReLU(0.1, inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c_out, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# The networks `maskwatch train --network` builds: name -> constructor(number of classes, read starting weights).
NETWORKS: dict[str, Callable[[int, bool], nn.Module]] = {
    # 0.2 M parameters, 10.6 M multiply-adds per 112-px crop; the body's shapes come from the shipped detector file
    "detector-backbone": lambda classes, _: MaskNet(classes),
    # 2.2 M parameters, 69.7 M multiply-adds; ImageNet weights from build/weights (`make weights`)
    "mobilenet-v2": lambda classes, pretrained: MobileNetV2Net(classes, weights=KERAS_WEIGHTS if pretrained else None),
}


def build_network(name: str, num_classes: int, pretrained: bool = True) -> nn.Module:
    """The network `name`, its body started from its pretrained weights (not where a checkpoint replaces them)."""
    if name not in NETWORKS:
        raise UserError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}")
    return NETWORKS[name](num_classes, pretrained)


class Preprocess(nn.Module):
    """[N, S, S, 3] BGR 0..255 float → [N, 3, S, S] minus the detector's mean, the input its backbone weights
    expect; used in training and baked into the ONNX graph, so callers only cast raw crops to float32."""

    mean: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(DETECTOR_MEAN.copy()).view(1, 3, 1, 1))

    def forward(self, nhwc: torch.Tensor) -> torch.Tensor:
        return nhwc.permute(0, 3, 1, 2) - self.mean


class ExportModel(nn.Module):
    """The graph shipped as ONNX: raw BGR crops in, softmax probabilities out; with several networks (members trained
    alike from different seeds) the mean of their probabilities; with `flip_average` each crop is also classified
    mirrored, left to right, and the views' probabilities averaged too."""

    def __init__(self, *nets: nn.Module, flip_average: bool = False):
        super().__init__()
        self.pre = Preprocess()
        self.nets = nn.ModuleList(nets)
        self.flip_average = flip_average

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.pre(x)
        views = (z, torch.flip(z, dims=(3,))) if self.flip_average else (z,)
        return torch.stack([torch.softmax(net(v), dim=1) for net in self.nets for v in views]).mean(dim=0)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
