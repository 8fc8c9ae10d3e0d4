"""ONNX export of a RetinaFaceNet in the shipped graph's contract, its parity check, and the network run as a
RetinaFaceDetector (same pre- and post-processing) for scoring during training."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from maskwatch.core.detections import Detections
from maskwatch.detect.retinaface import RetinaFaceDetector
from maskwatch.train.detector.model import RetinaFaceNet

PARITY_TOLERANCE = 1e-3  # largest difference of any output (box and landmark offsets, face probability)


class ExportModel(nn.Module):
    """input [N, 3, H, W] (BGR minus the mean, H and W multiples of 32) -> loc, conf (softmax), landmarks."""

    def __init__(self, net: RetinaFaceNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        loc, logits, landmarks = self.net(x)
        return loc, torch.softmax(logits, dim=-1), landmarks


def export_onnx(net: RetinaFaceNet, path: Path, metadata: Mapping[str, object] | None = None, opset: int = 13) -> Path:
    """The graph RetinaFaceDetector runs: input "input", outputs "loc", "conf", "landmarks", dynamic batch and size."""
    import onnx

    model = ExportModel(net).eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {
        "input": {0: "batch_size", 2: "height", 3: "width"},
        "loc": {0: "batch_size", 1: "anchors"},
        "conf": {0: "batch_size", 1: "anchors"},
        "landmarks": {0: "batch_size", 1: "anchors"},
    }
    with torch.no_grad():
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, 320, 320),),
            str(path),
            input_names=["input"],
            output_names=["loc", "conf", "landmarks"],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in {"activation": net.activation, **(metadata or {})}.items():
        proto.metadata_props.add(key=key, value=str(value))
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


class TorchRetinaFace(RetinaFaceDetector):
    """A RetinaFaceNet behind RetinaFaceDetector's own prepare() and postprocess(), without ONNX Runtime."""

    def __init__(self, net: RetinaFaceNet, input_size: int = 1024, min_score: float = 0.5, nms_iou: float = 0.4):
        self.net, self.input_size, self.min_score, self.nms_iou = net, input_size, min_score, nms_iou

    @torch.no_grad()
    def detect_batch(self, images: list[np.ndarray], min_score: float | None = None) -> list[Detections]:
        self.net.eval()
        out: list[Detections] = []
        for image in images:
            blob, scale = self.prepare(image)
            loc, conf, landmarks = (t[0].numpy() for t in ExportModel(self.net)(torch.from_numpy(blob)))
            score = self.min_score if min_score is None else min_score
            out.append(self.postprocess(loc, conf, landmarks, blob.shape[2], blob.shape[3], scale, image.shape, score))
        return out


def parity_check(net: RetinaFaceNet, onnx_path: Path, images: list[np.ndarray], input_size: int = 640) -> dict:
    """Largest difference of the raw outputs, PyTorch vs ONNX Runtime, over photos prepared as the detector does."""
    detector = RetinaFaceDetector(onnx_path, input_size=input_size, threads=1)
    model = ExportModel(net).eval()
    worst = 0.0
    for image in images:
        blob, _ = detector.prepare(image)
        got = detector.session.run(None, {detector.input_name: blob})
        with torch.no_grad():
            ref = [t.numpy() for t in model(torch.from_numpy(blob))]
        worst = max(worst, *(float(np.abs(a - b).max()) for a, b in zip(ref, got, strict=True)))
    return {
        "n": len(images),
        "input_size": input_size,
        "max_abs_diff": worst,
        "tolerance": PARITY_TOLERANCE,
        "ok": worst < PARITY_TOLERANCE,
    }
