"""The default face detector for photos and video files: the passes maskwatch.detect.scales plans for each
image, tiles batched, merged into one set of faces (maskwatch.detect.tiling)."""

from __future__ import annotations

import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.detect.scales import ScalePass, ScaleSettings, plan_scales
from maskwatch.detect.tiling import ScaledDetector, detect_regions, merge_detections


class MultiScaleDetector:
    """Any detector with detect_scaled (RetinaFaceDetector, whichever RetinaFace-compatible ONNX it runs), at the
    scales chosen from each image's size."""

    name = "retinaface-multiscale"

    def __init__(self, detector: ScaledDetector, settings: ScaleSettings | None = None):
        self.detector = detector
        self.settings = settings or ScaleSettings()

    @property
    def min_score(self) -> float:
        return self.detector.min_score

    def plan(self, image: np.ndarray) -> list[ScalePass]:
        return plan_scales(image.shape[0], image.shape[1], self.settings)

    def detect(self, image: np.ndarray, min_score: float | None = None) -> Detections:
        passes = [
            detect_regions(
                self.detector,
                image,
                p.regions,
                p.scale,
                min_score,
                max_face=p.largest_whole_face(self.settings.overlap_in),
            )
            for p in self.plan(image)
        ]
        return merge_detections(passes)

    def detect_batch(self, images: list[np.ndarray], min_score: float | None = None) -> list[Detections]:
        return [self.detect(image, min_score) for image in images]
