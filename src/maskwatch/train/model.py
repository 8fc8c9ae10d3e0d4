"""MaskNet: a compact CNN for face-mask crops, and the ONNX-facing wrapper that owns the preprocessing."""

from __future__ import annotations

import torch
from torch import nn

# Per-channel statistics in BGR order, 0..255 scale (ImageNet values, reordered): the exact values matter less than
# having them fixed in the graph so that callers only cast raw crops to float32.
BGR_MEAN = (103.53, 116.28, 123.675)
BGR_STD = (57.375, 57.12, 58.395)


def conv_bn(c_in: int, c_out: int, k: int = 3, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualConv(nn.Module):
    """x + BN(conv3x3(x)), then ReLU: one dense conv per block keeps the CPU cost low; the skip keeps it easy to train."""

    def __init__(self, c: int):
        super().__init__()
        self.body = conv_bn(c, c, 3, act=False)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


# Channels after the stem and after each stride-2 stage. Dense 3x3 convs rather than depthwise-separable ones:
# on a 2-core CPU the depthwise backward pass was 2-3x slower per image at equal accuracy.
DEFAULT_WIDTHS: tuple[int, ...] = (24, 32, 64, 128, 192)


class MaskNet(nn.Module):
    """NCHW float input (normalised) -> class logits. Stride 2 per stage, total stride 32."""

    def __init__(self, num_classes: int = 3, widths: tuple[int, ...] = DEFAULT_WIDTHS, dropout: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = [conv_bn(3, widths[0], 3, stride=2)]
        c = widths[0]
        for w in widths[1:]:
            layers += [conv_bn(c, w, 3, stride=2), ResidualConv(w)]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Residual branches start as identity: their BN begins at zero scale.
        for m in self.modules():
            if isinstance(m, ResidualConv):
                nn.init.zeros_(m.body[1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Preprocess(nn.Module):
    """[N, S, S, 3] BGR 0..255 float → normalised [N, 3, S, S]; used in training and baked into the ONNX graph."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1))
        self.register_buffer("inv_std", 1.0 / torch.tensor(BGR_STD).view(1, 3, 1, 1))

    def forward(self, nhwc: torch.Tensor) -> torch.Tensor:
        return (nhwc.permute(0, 3, 1, 2) - self.mean) * self.inv_std


class ExportModel(nn.Module):
    """The graph shipped as ONNX: raw BGR crops in, softmax probabilities out."""

    def __init__(self, net: MaskNet):
        super().__init__()
        self.pre = Preprocess()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(self.pre(x)), dim=1)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
