"""Hiding faces: pixelation (default) or a strong Gaussian blur over each face box, with a margin."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from maskwatch.core.detections import BoxLike
from maskwatch.core.draw import grown

MARGIN = 0.25  # each face box is grown by this much of its size on every side before it is hidden


def hide_region(region: np.ndarray, method: str = "pixelate") -> np.ndarray:
    h, w = region.shape[:2]
    if h < 2 or w < 2:
        return region
    if method == "gaussian":
        k = max(h, w) // 2 * 2 + 1
        return cv2.GaussianBlur(region, (k, k), sigmaX=max(h, w) / 4)
    blocks = 6  # ~6 blocks across a face leaves no features a person or a detector can use
    small = cv2.resize(
        region, (max(1, w * blocks // max(h, w)), max(1, h * blocks // max(h, w))), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def blur_faces(
    image: np.ndarray,
    boxes: np.ndarray | Sequence[BoxLike],
    method: str = "pixelate",
    keep: int | None = None,
    margin: float = MARGIN,
    copy: bool = True,
) -> np.ndarray:
    """Every face box hidden except the one at index `keep` (if given)."""
    out = image.copy() if copy else image
    h, w = out.shape[:2]
    for i, box in enumerate(np.asarray(boxes).reshape(-1, 4)):
        if keep is not None and i == keep:
            continue
        x1, y1, x2, y2 = grown(box, margin, w, h)
        if x2 > x1 and y2 > y1:
            out[y1:y2, x1:x2] = hide_region(out[y1:y2, x1:x2], method)
    return out
