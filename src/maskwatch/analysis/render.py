"""Frames as people see them: the live view (faces hidden, boxes and zones drawn) and the frames of alert clips."""

from __future__ import annotations

import cv2
import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.core.draw import draw_detections, draw_zone
from maskwatch.privacy import blur_faces
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
) -> np.ndarray:
    """The frame as clips show it: at most `width` wide, every face hidden (snapshot_show_offender or not), boxes
    and zones drawn."""
    h, w = image.shape[:2]
    scale = min(1.0, width / w)
    size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))  # VP8 wants even sides
    out = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if size != (w, h) else image.copy()
    sx, sy = size[0] / w, size[1] / h
    blur_faces(out, hidden * np.float32([sx, sy, sx, sy]), method=blur_method, copy=False)
    return annotate(out, zones, faces.scaled(sx, sy), at)


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
