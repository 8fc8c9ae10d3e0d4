"""Motion gating: faces are detected again only when the picture changed since the last detection.

A still camera (an empty corridor, people standing in a queue) then costs a thumbnail and a difference per
analysed frame instead of a detector run; its last faces are tracked and judged again as they were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

THUMB_WIDTH = 160
PIXEL_DELTA = 12  # grey levels: above sensor noise and compression flicker once averaged into the thumbnail


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A small grey copy: area averaging removes most noise, so a fixed pixel delta means real change."""
    h, w = image.shape[:2]
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image  # first: area-averaging 1 channel
    return cv2.resize(grey, (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)


def changed_fraction(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return 1.0
    return np.count_nonzero(cv2.absdiff(a, b) > PIXEL_DELTA) / a.size


@dataclass
class MotionGate:
    """threshold: the fraction of thumbnail pixels that must change to detect again (0: always detect);
    redetect_seconds: the longest a camera goes without a detection, however still it is."""

    threshold: float
    redetect_seconds: float = 1.0
    reference: np.ndarray | None = None  # thumbnail of the last detected frame
    detected_at: float = -math.inf

    def still(self, thumb: np.ndarray, now: float) -> bool:
        """True when the last detection still holds for this frame (nothing moved enough, not too long ago)."""
        if self.threshold <= 0 or self.reference is None or now - self.detected_at >= self.redetect_seconds:
            return False
        return changed_fraction(thumb, self.reference) < self.threshold

    def detected(self, thumb: np.ndarray, now: float) -> None:
        self.reference, self.detected_at = thumb, now
