"""Test clips built at run time from CC0 andrewmvd photos (never committed): one big face per half of the frame."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.labels import normalize_label
from maskwatch.core.paths import SHARED_DATA

ANDREWMVD = SHARED_DATA / "andrewmvd"
HALF = (320, 360)  # each tile: width, height; a frame is two tiles side by side (640x360)


def main_face(photo: str) -> tuple[str, list[int]]:
    """The largest annotated face of a photo: (label, box)."""
    root = ET.parse(ANDREWMVD / "annotations" / f"{photo}.xml").getroot()
    faces = [
        (
            normalize_label(o.find("name").text),
            [int(float(o.find("bndbox").find(k).text)) for k in ("xmin", "ymin", "xmax", "ymax")],
        )
        for o in root.findall("object")
    ]
    return max(faces, key=lambda f: f[1][2] - f[1][0])


def face_tile(photo: str, size=HALF) -> np.ndarray:
    """The photo's main face with context, scaled to fill a tile (face about half the tile's width)."""
    image = cv2.imread(str(ANDREWMVD / "images" / f"{photo}.jpg"))
    _, (x1, y1, x2, y2) = main_face(photo)
    cx, cy, side = (x1 + x2) / 2, (y1 + y2) / 2, 2.0 * max(x2 - x1, y2 - y1)
    w, h = size
    scale = min(w, h) / side
    m = np.array([[scale, 0, w / 2 - cx * scale], [0, scale, h / 2 - cy * scale]], np.float32)
    return cv2.warpAffine(image, m, size, borderMode=cv2.BORDER_REPLICATE)


def write_clip(out: Path, segments: list[tuple[str, str]], seconds_each: float = 2.0, fps: int = 10) -> Path:
    """segments: (left photo, right photo) pairs shown one after the other, with a slight drift so faces move."""
    w, h = HALF
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (2 * w, h))
    n = int(seconds_each * fps)
    for left, right in segments:
        frame = np.concatenate([face_tile(left), face_tile(right)], axis=1)
        for i in range(n):
            dx = 6 * np.sin(i / n * np.pi)
            m = np.array([[1, 0, dx], [0, 1, 0]], np.float32)
            writer.write(cv2.warpAffine(frame, m, (2 * w, h), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    return out
