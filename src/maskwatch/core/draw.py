"""Drawing classified (and tracked) faces and zones onto frames."""

from __future__ import annotations

import cv2
import numpy as np

from maskwatch.core.detections import Detections

COLORS = {"mask": (80, 200, 60), "no_mask": (40, 40, 230), "incorrect": (0, 160, 255), None: (200, 200, 200)}


def draw_detections(image: np.ndarray, dets: Detections, copy: bool = True) -> np.ndarray:
    out = image.copy() if copy else image
    labels = dets.labels if dets.class_probs is not None else [None] * len(dets)
    scores = dets.scores
    thickness = max(1, round(max(image.shape[:2]) / 500))
    for i, (box, label) in enumerate(zip(dets.xyxy.astype(int), labels)):
        color = COLORS[label]
        cv2.rectangle(out, (box[0], box[1]), (box[2], box[3]), color, thickness)
        text = f"{label or 'face'} {scores[i]:.2f}"
        if dets.track_ids is not None and dets.track_ids[i] >= 0:
            text = f"#{dets.track_ids[i]} " + text
        scale = 0.4 * thickness
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        y = max(box[1], th + base + 2)
        cv2.rectangle(out, (box[0], y - th - base - 2), (box[0] + tw + 2, y), color, -1)
        cv2.putText(
            out, text, (box[0] + 1, y - base - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
        )
    return out


def draw_zone(image: np.ndarray, polygon_rel, name: str, restricted: bool, ignore: bool = False) -> np.ndarray:
    h, w = image.shape[:2]
    pts = (np.asarray(polygon_rel, np.float32) * [w, h]).astype(np.int32)
    color = (150, 150, 150) if ignore else (40, 40, 230) if restricted else (200, 160, 40)
    name = f"{name} (ignored)" if ignore else name
    cv2.polylines(image, [pts], True, color, max(1, round(max(h, w) / 600)), cv2.LINE_AA)
    cv2.putText(image, name, tuple(int(v) for v in pts[0]), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
    return image
