"""Frames as people see them: the live view (faces hidden, boxes and zones drawn) and the frames of alert clips."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import cv2
import numpy as np

from maskwatch.core.detections import BoxLike, Detections
from maskwatch.core.draw import draw_detections, draw_zone, mark_offenders, offender_text
from maskwatch.privacy import MARGIN, blur_faces
from maskwatch.rules import Zone


def annotate(image: np.ndarray, zones: list[Zone], faces: Detections | None, at: float) -> np.ndarray:
    """Zones (off hours: drawn as open) and faces drawn onto `image` (changed in place)."""
    for zone in zones:
        draw_zone(image, zone.polygon, zone.name, zone.restricted_at(at), zone.ignore)
    if faces is not None and len(faces):
        draw_detections(image, faces, copy=False)
    return image


def clip_frame(
    image: np.ndarray,
    hidden: np.ndarray,
    faces: Detections,
    zones: list[Zone],
    at: float,
    width: int,
    blur_method: str,
    marked: AbstractSet[int] = frozenset(),
) -> np.ndarray:
    """The frame as clips show it: at most `width` wide, every face hidden (snapshot_show_offender or not), zones
    drawn; the faces of the `marked` tracks (the alerts' offenders) outlined and labelled, every other face dimmed."""
    h, w = image.shape[:2]
    scale = min(1.0, width / w)
    size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))  # VP8 wants even sides
    out = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if size != (w, h) else image.copy()
    sx, sy = size[0] / w, size[1] / h
    boxes = hidden * np.array([sx, sy, sx, sy], np.float32)
    blur_faces(out, boxes, method=blur_method, copy=False)
    annotate(out, zones, None, at)
    return mark_offenders(out, *offenders(boxes, faces.scaled(sx, sy), marked), MARGIN)


def offenders(
    hidden: np.ndarray, faces: Detections, marked: AbstractSet[int]
) -> tuple[np.ndarray, dict[int, tuple[str, str]]]:
    """The boxes to mark on: every hidden box, and the marked tracks' faces (each matched to its hidden box, or
    added) as {index: (label, text)}."""
    boxes = [np.asarray(b, np.float32) for b in np.asarray(hidden, np.float32).reshape(-1, 4)]
    marks: dict[int, tuple[str, str]] = {}
    if faces.track_ids is None or faces.class_probs is None:
        return np.asarray(boxes, np.float32).reshape(-1, 4), marks
    for i in np.flatnonzero(np.isin(faces.track_ids, list(marked))):
        label, confidence = faces.labels[i], float(faces.class_probs[i].max())
        found = next((k for k, b in enumerate(boxes) if k not in marks and _iou(b, faces.xyxy[i]) > 0.5), None)
        if found is None:
            boxes.append(np.asarray(faces.xyxy[i], np.float32))
            found = len(boxes) - 1
        marks[found] = (label, offender_text(label, confidence, int(faces.track_ids[i])))
    return np.asarray(boxes, np.float32).reshape(-1, 4), marks


def _iou(a: BoxLike, b: BoxLike) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def live_jpeg(
    image: np.ndarray,
    hidden: np.ndarray | None,
    faces: Detections | None,
    zones: list[Zone],
    at: float,
    annotated: bool,
    blur_method: str | None,
) -> bytes | None:
    """The live view's JPEG: faces hidden where `blur_method` is given, drawn on when `annotated`."""
    if blur_method and hidden is not None and len(hidden):
        out = blur_faces(image, hidden, method=blur_method)
    else:
        out = image.copy()
    if annotated:
        annotate(out, zones, faces, at)
    ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return data.tobytes() if ok else None
