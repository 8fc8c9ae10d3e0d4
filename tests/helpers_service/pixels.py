"""Pixels of the offender's outline and of a face's hidden region, for the snapshot and clip tests."""

from __future__ import annotations

import numpy as np

from maskwatch.core.draw import COLORS, grown
from maskwatch.privacy import MARGIN

RED = np.array(COLORS["no_mask"], np.float32)  # BGR: the outline of a no_mask offender


def outline_thickness(image: np.ndarray) -> int:
    return max(2, round(max(image.shape[:2]) / 300))


def outline_pixels(image: np.ndarray, box) -> np.ndarray:
    """The pixels of the ring drawn just outside the face's hidden region (left, right and bottom edges: the top
    one carries the label)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = grown(box, MARGIN, w, h)
    mid = outline_thickness(image) // 2 + 1
    cols = image[y1 + 2 : y2 - 2, [max(0, x1 - mid), min(w - 1, x2 + mid - 1)]].reshape(-1, 3)
    rows = image[min(h - 1, y2 + mid - 1), x1 + 2 : x2 - 2].reshape(-1, 3)
    return np.concatenate([cols, rows]).astype(np.float32)


def off_red(pixels: np.ndarray) -> np.ndarray:
    """Per pixel, how far it is from the outline's red (largest channel difference)."""
    return np.abs(pixels - RED).max(axis=-1)


def region(image: np.ndarray, box) -> np.ndarray:
    """The face's hidden region (its box grown by the privacy margin)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = grown(box, MARGIN, w, h)
    return image[y1:y2, x1:x2].astype(np.float32)
