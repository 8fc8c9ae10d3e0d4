"""AIZOOTech FaceMaskDetection (MIT): a 260x260 SSD with two classes, run with OpenCV 4's Caffe importer.

Anchors and box decoding follow ../shared/peers/README.md (the published anchor generator and decoder).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FEATURE_MAPS = (33, 17, 9, 5, 3)
SIZES = ((0.04, 0.056), (0.08, 0.11), (0.16, 0.22), (0.32, 0.45), (0.64, 0.72))
RATIOS = (1.0, 0.62, 0.42)
VARIANCES = np.array([0.1, 0.1, 0.2, 0.2], np.float32)
INPUT = 260
LABELS = ("mask", "no_mask")  # class 0 Mask, 1 NoMask


def anchors() -> np.ndarray:
    """(5972, 4) normalised x1, y1, x2, y2: per cell each size at ratio 1, then the other ratios at the first size."""
    out = []
    for fm, sizes in zip(FEATURE_MAPS, SIZES, strict=True):
        centres = (np.arange(fm, dtype=np.float32) + 0.5) / fm
        cx, cy = np.meshgrid(centres, centres)  # row-major over (y, x), as the published generator
        shapes = [(s, 1.0) for s in sizes] + [(sizes[0], r) for r in RATIOS[1:]]
        half = np.array([[s * np.sqrt(r) / 2, s / np.sqrt(r) / 2] for s, r in shapes], np.float32)  # (A, 2) w/2, h/2
        c = np.stack([cx, cy], -1).reshape(-1, 1, 2)
        out.append(np.concatenate([c - half, c + half], -1).reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


def decode(loc: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """SSD decoding with variances 0.1, 0.1, 0.2, 0.2 → normalised x1, y1, x2, y2."""
    pw, ph = priors[:, 2] - priors[:, 0], priors[:, 3] - priors[:, 1]
    pcx, pcy = (priors[:, 0] + priors[:, 2]) / 2, (priors[:, 1] + priors[:, 3]) / 2
    d = loc * VARIANCES
    cx, cy = d[:, 0] * pw + pcx, d[:, 1] * ph + pcy
    w, h = np.exp(d[:, 2]) * pw, np.exp(d[:, 3]) * ph
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


class AizooDetector:
    name = "aizoo"

    def __init__(self, weights_dir: Path, conf_thresh: float = 0.05, nms_iou: float = 0.4):
        weights_dir = Path(weights_dir)
        self.net = cv2.dnn.readNetFromCaffe(
            str(weights_dir / "face_mask_detection.prototxt"), str(weights_dir / "face_mask_detection.caffemodel")
        )
        self.priors = anchors()
        self.conf_thresh = conf_thresh
        self.nms_iou = nms_iou

    def __call__(self, bgr: np.ndarray) -> list[dict]:
        h, w = bgr.shape[:2]
        # The published runner converts to RGB, then blobFromImage scales to 260x260 and [0, 1].
        blob = cv2.dnn.blobFromImage(bgr, scalefactor=1 / 255.0, size=(INPUT, INPUT), swapRB=True)
        self.net.setInput(blob)
        loc, cls = self.net.forward(["loc_branch_concat", "cls_branch_concat"])
        loc, cls = loc.reshape(-1, 4), cls.reshape(-1, 2)
        scores, classes = cls.max(1), cls.argmax(1)
        idx = np.flatnonzero(scores >= self.conf_thresh)
        if idx.size == 0:
            return []
        boxes = decode(loc[idx], self.priors[idx]).clip(0, 1) * np.array([w, h, w, h], np.float32)
        # Single-class NMS over all boxes (by their best class), as the published runner does.
        xywh = [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes]
        keep = np.array(cv2.dnn.NMSBoxes(xywh, scores[idx].tolist(), self.conf_thresh, self.nms_iou)).reshape(-1)
        return [
            {
                "box": [round(float(v), 1) for v in boxes[k]],
                "label": LABELS[int(classes[idx[k]])],
                "score": round(float(scores[idx[k]]), 4),
            }
            for k in keep
        ]
