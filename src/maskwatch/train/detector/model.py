"""RetinaFace with a MobileNet-0.25 body as a torch Module (biubug6/Pytorch_Retinaface's architecture), started
from the weights of the shipped ONNX graph.

The graph has its batch-norm folded into the conv biases, so every "conv + BN" of the original is one biased conv
here. Layout: MobileNetV1-0.25 (stride 8, 16, 32 outputs of 64, 128, 256 channels), an FPN to 64 channels with
nearest upsampling, an SSH context module per level, and 1x1 heads with 2 anchors per cell (2 class logits, 4 box
offsets, 10 landmark offsets each). Outputs are in the anchor order of maskwatch.detect.anchors.prior_boxes.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from maskwatch.detect.retinaface import DEFAULT_MODEL

ACTIVATIONS = ("leaky", "relu")
LEAKY_SLOPE = 0.1
ANCHORS_PER_CELL = 2
BODY_CONVS = 27
# (in, out, stride) of the 13 depthwise-separable blocks after the stem (3 -> 8, stride 2); the stride 8, 16 and
# 32 outputs are taken after blocks 5, 11 and 13.
BLOCKS = (
    (8, 16, 1),
    (16, 32, 2),
    (32, 32, 1),
    (32, 64, 2),
    (64, 64, 1),
    (64, 128, 2),
    (128, 128, 1),
    (128, 128, 1),
    (128, 128, 1),
    (128, 128, 1),
    (128, 128, 1),
    (128, 256, 2),
    (256, 256, 1),
)
STAGE_ENDS = (11, 23, 27)  # number of body convs up to the end of each output stage
FPN_IN = (64, 128, 256)
FPN_OUT = 64
SSH_CONVS = ("conv3X3", "conv5X5_1", "conv5X5_2", "conv7X7_2", "conv7x7_3")
HEADS = {"class_head": 2, "bbox_head": 4, "landmark_head": 10}


def _act(kind: str) -> nn.Module:
    if kind not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {kind!r}")
    return nn.LeakyReLU(LEAKY_SLOPE) if kind == "leaky" else nn.ReLU()


class SSH(nn.Module):
    """Single-stage headless context module: 3x3, 5x5 and 7x7 receptive fields (as stacked 3x3), concatenated."""

    def __init__(self, channels: int, act: str):
        super().__init__()
        self.conv3X3 = nn.Conv2d(channels, channels // 2, 3, 1, 1)
        self.conv5X5_1 = nn.Conv2d(channels, channels // 4, 3, 1, 1)
        self.conv5X5_2 = nn.Conv2d(channels // 4, channels // 4, 3, 1, 1)
        self.conv7X7_2 = nn.Conv2d(channels // 4, channels // 4, 3, 1, 1)
        self.conv7x7_3 = nn.Conv2d(channels // 4, channels // 4, 3, 1, 1)
        self.act = _act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.act(self.conv5X5_1(x))
        deep = self.act(self.conv7X7_2(branch))
        return F.relu(torch.cat([self.conv3X3(x), self.conv5X5_2(branch), self.conv7x7_3(deep)], 1))


class FPN(nn.Module):
    def __init__(self, act: str):
        super().__init__()
        for i, c in enumerate(FPN_IN, 1):
            setattr(self, f"output{i}", nn.Conv2d(c, FPN_OUT, 1))
        self.merge1 = nn.Conv2d(FPN_OUT, FPN_OUT, 3, 1, 1)
        self.merge2 = nn.Conv2d(FPN_OUT, FPN_OUT, 3, 1, 1)
        self.act = _act(act)

    def forward(self, c1: torch.Tensor, c2: torch.Tensor, c3: torch.Tensor) -> list[torch.Tensor]:
        o1, o2, o3 = (self.act(conv(c)) for conv, c in ((self.output1, c1), (self.output2, c2), (self.output3, c3)))
        o2 = self.act(self.merge2(o2 + F.interpolate(o3, size=o2.shape[2:], mode="nearest")))
        o1 = self.act(self.merge1(o1 + F.interpolate(o2, size=o1.shape[2:], mode="nearest")))
        return [o1, o2, o3]


def _body(act: str) -> nn.ModuleList:
    """The three stages of MobileNet-0.25 (outputs at stride 8, 16 and 32)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 8, 3, 2, 1), _act(act)]
    for c_in, c_out, stride in BLOCKS:
        layers += [nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in), _act(act), nn.Conv2d(c_in, c_out, 1), _act(act)]
    cuts = [0, *(2 * n for n in STAGE_ENDS)]
    return nn.ModuleList(nn.Sequential(*layers[a:b]) for a, b in pairwise(cuts))


class RetinaFaceNet(nn.Module):
    """NCHW float input (BGR minus the detector's mean) -> (box offsets [N, A, 4], class logits [N, A, 2],
    landmark offsets [N, A, 10]); softmax the logits for face scores (ExportModel does)."""

    def __init__(self, activation: str = "leaky"):
        super().__init__()
        self.activation = activation
        self.body = _body(activation)
        self.fpn = FPN(activation)
        self.ssh1, self.ssh2, self.ssh3 = SSH(FPN_OUT, activation), SSH(FPN_OUT, activation), SSH(FPN_OUT, activation)
        for name, k in HEADS.items():
            setattr(self, name, nn.ModuleList(nn.Conv2d(FPN_OUT, ANCHORS_PER_CELL * k, 1) for _ in range(3)))

    def body_convs(self) -> list[nn.Conv2d]:
        return [m for stage in self.body for m in stage if isinstance(m, nn.Conv2d)]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """SSH outputs at stride 8, 16 and 32."""
        stages = []
        for stage in self.body:
            x = stage(x)
            stages.append(x)
        levels = self.fpn(*stages)
        return [ssh(level) for ssh, level in zip((self.ssh1, self.ssh2, self.ssh3), levels, strict=True)]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.features(x)
        n = x.shape[0]
        out = []
        for name, k in HEADS.items():
            head = getattr(self, name)
            per_level = [conv(f).permute(0, 2, 3, 1).reshape(n, -1, k) for conv, f in zip(head, feats, strict=True)]
            out.append(torch.cat(per_level, 1))
        logits, loc, landmarks = out
        return loc, logits, landmarks


def _onnx_convs(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(node name, weight, bias) of every Conv of a RetinaFace graph, in graph order."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:  # the exporter aliases some initializers through Identity nodes
        if node.op_type == "Identity" and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    return [(n.name, tensors[n.input[1]], tensors[n.input[2]]) for n in graph.node if n.op_type == "Conv"]


def _module_for(net: RetinaFaceNet, node_name: str, body_index: int) -> nn.Conv2d | None:
    """The conv of `net` an ONNX node name stands for (None for the exporter's duplicate of conv5X5_1)."""
    parts = node_name.strip("/").split("/")
    top = parts[0]
    if top == "fx":
        return net.body_convs()[body_index]
    if top == "fpn":
        return getattr(net.fpn, parts[1])
    if top.startswith("ssh"):
        if parts[2].endswith("_1") and parts[2].rsplit(".", 1)[-1] != "0":
            return None  # "/sshK/conv5X5_1/conv5X5_1.0_1/Conv": the same weights, run a second time
        return getattr(getattr(net, top), parts[1])
    if top in HEADS:
        return getattr(net, top)[int(parts[1].rsplit(".", 1)[1])]
    raise ValueError(f"unexpected conv in the detector graph: {node_name}")


def load_onnx_weights(net: RetinaFaceNet, path: Path = DEFAULT_MODEL) -> RetinaFaceNet:
    """Copy every conv's (BN-folded) weight and bias out of a RetinaFace ONNX graph into `net`."""
    body_index, loaded = 0, set()
    for name, weight, bias in _onnx_convs(Path(path)):
        conv = _module_for(net, name, body_index)
        body_index += name.startswith("/fx/")
        if conv is None:
            continue
        if tuple(conv.weight.shape) != weight.shape:
            raise ValueError(f"{path}: {name} has shape {weight.shape}, the module expects {tuple(conv.weight.shape)}")
        conv.weight.data.copy_(torch.from_numpy(weight.copy()))
        conv.bias.data.copy_(torch.from_numpy(bias.copy()))
        loaded.add(id(conv))
    missing = [n for n, m in net.named_modules() if isinstance(m, nn.Conv2d) and id(m) not in loaded]
    if body_index != BODY_CONVS or missing:
        raise ValueError(
            f"{path}: {body_index} body convs (expected {BODY_CONVS}); convs left without weights: {missing}"
        )
    return net


def pretrained(activation: str = "leaky", path: Path = DEFAULT_MODEL) -> RetinaFaceNet:
    """The network with the shipped detector's weights (with `activation` in place of its LeakyReLU)."""
    return load_onnx_weights(RetinaFaceNet(activation), path)
