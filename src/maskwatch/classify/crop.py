"""One way of cutting a face out of an image, shared by dataset building and inference.

Every crop is a square centred on the face box whose side is the box's longer side times
(1 + 2 * CROP_MARGIN), padded by edge replication where it leaves the image. Using the same
rule for every class keeps a model from learning "tight crop means no mask".
"""

from __future__ import annotations

import cv2
import numpy as np

from maskwatch.core.detections import BoxLike

CROP_MARGIN = 0.2
CROP_SIZE = 112


def square_box(box: BoxLike, margin: float = CROP_MARGIN) -> np.ndarray:
    """The square (x1, y1, x2, y2) a face crop is taken from."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = max(x2 - x1, y2 - y1) * (1 + 2 * margin) / 2
    return np.array([cx - half, cy - half, cx + half, cy + half], np.float32)


def face_crop(image: np.ndarray, box: BoxLike, size: int = CROP_SIZE, margin: float = CROP_MARGIN) -> np.ndarray:
    """Crop the face in `box` (pixel x1, y1, x2, y2) out of a BGR image as a size x size BGR image."""
    sx1, sy1, sx2, _ = square_box(box, margin)
    scale = size / max(sx2 - sx1, 1e-6)
    # One affine warp crops, pads and resizes at once, without copying the whole frame.
    m = np.array([[scale, 0, -sx1 * scale], [0, scale, -sy1 * scale]], np.float32)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(image, m, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def face_crops(image: np.ndarray, boxes: np.ndarray, size: int = CROP_SIZE, margin: float = CROP_MARGIN) -> np.ndarray:
    """(N, size, size, 3) uint8 crops for every box."""
    if len(boxes) == 0:
        return np.zeros((0, size, size, 3), np.uint8)
    return np.stack([face_crop(image, b, size, margin) for b in boxes])


def square_pad(image: np.ndarray) -> np.ndarray:
    """A crop given as it is (by `maskwatch classify`), made square by replicating its edges, centred."""
    h, w = image.shape[:2]
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    return cv2.copyMakeBorder(image, top, side - h - top, left, side - w - left, cv2.BORDER_REPLICATE)
