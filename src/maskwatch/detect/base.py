"""The face-detector interface every backend implements."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from maskwatch.core.detections import Detections


class FaceDetector(Protocol):
    name: str

    def detect(self, image: np.ndarray, min_score: float | None = None) -> Detections:
        """Faces in a BGR uint8 image, boxes in that image's pixel coordinates."""
        ...

    def detect_batch(self, images: list[np.ndarray], min_score: float | None = None) -> list[Detections]:
        """detect() for several images (cameras), batched where the backend can."""
        ...
