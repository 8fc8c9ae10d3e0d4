"""The one face of a picture of a face: a class-folder image when building the dataset, a crop given to
`maskwatch classify`. Both are found the same way, so a crop is re-cut as the class-folder training crops were."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from maskwatch.detect.retinaface import RetinaFaceDetector

MIN_SCORE = 0.3
PAD = 0.5  # replicated border added around the picture, per side, as a fraction of the side
# Where the first attempt finds no face the picture is tried again: masked faces cut tightly at the forehead and
# chin are missed ~10x as often as unmasked ones at (0.5 pad, 320 px), which would bias a dataset; a larger input
# or no padding finds most of them. Attempts: (padding fraction, detector input size).
ATTEMPTS = ((PAD, 320), (PAD, 640), (0.0, 320))


def attempt_detectors(
    threads: int | None = None, attempts: Sequence[tuple[float, int]] = ATTEMPTS
) -> list[tuple[float, RetinaFaceDetector]]:
    """(padding, RetinaFaceDetector) per attempt, one detector per input size."""
    from maskwatch.detect.retinaface import RetinaFaceDetector

    by_size = {size: RetinaFaceDetector(input_size=size, min_score=MIN_SCORE, threads=threads) for _, size in attempts}
    return [(pad, by_size[size]) for pad, size in attempts]


def most_confident_face(
    image: np.ndarray, attempts: Sequence[tuple[float, RetinaFaceDetector]]
) -> tuple[np.ndarray, int] | None:
    """Box of the most confident face (unpadded image coordinates, may extend outside it) and the index of the
    attempt that found it; attempts are (padding fraction, detector) tried in order until one finds a face."""
    h, w = image.shape[:2]
    for k, (pad, detector) in enumerate(attempts):
        py, px = round(h * pad), round(w * pad)
        padded = cv2.copyMakeBorder(image, py, py, px, px, cv2.BORDER_REPLICATE) if pad else image
        detections = detector.detect(padded)
        if len(detections):
            return detections.xyxy[int(np.argmax(detections.det_scores))] - np.array([px, py, px, py], np.float32), k
    return None
