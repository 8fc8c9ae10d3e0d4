"""A face crop: the face box with a small margin, at most a few hundred pixels, never the scene around it."""

from __future__ import annotations

import cv2
import numpy as np

from maskwatch.core.detections import BoxLike


def face_crop(image: np.ndarray, box: BoxLike, margin: float, max_side: int) -> np.ndarray | None:
    """The face box grown by `margin` (a fraction of its size) on each side, clipped to the frame and scaled down
    so that its longer side is at most `max_side`; None where the box lies outside the frame."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    mw, mh = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(0, int(np.floor(x1 - mw))), max(0, int(np.floor(y1 - mh)))
    right, bottom = min(w, int(np.ceil(x2 + mw))), min(h, int(np.ceil(y2 + mh)))
    if right - left < 2 or bottom - top < 2:
        return None
    crop = image[top:bottom, left:right]
    longest = max(crop.shape[:2])
    if longest > max_side:
        scale = max_side / longest
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(crop)


def encode_jpeg(crop: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the crop could not be encoded as JPEG")
    return data.tobytes()


def face_side(box: BoxLike) -> float:
    """The face box's shorter side in pixels."""
    return float(min(box[2] - box[0], box[3] - box[1]))
