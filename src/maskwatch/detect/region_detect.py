"""Faces in the planned regions of several frames (maskwatch.detect.regions): the regions of all frames that come to
one input shape run as one batch, their faces are mapped back to frame pixels, cut faces dropped, and each frame's
faces merged.

A face cut by a region's side (one that lies inside the frame) is dropped: its box reaches that side. Regions
around faces and motion are centred on what they hold with room around it, and the sweep's squares overlap, so the
whole face lies in another region; the merge (maskwatch.detect.tiling.merge_detections) then keeps one box per face.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol

import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.detect.regions import Region
from maskwatch.detect.tiling import MAX_BATCH_PIXELS, merge_detections

EDGE = 2.0  # px (frame) within which a box counts as reaching a region's side


class RegionDetector(Protocol):
    min_score: float

    def detect_each(
        self, images: list[np.ndarray], scales: list[float], min_score: float | None = None
    ) -> list[Detections]: ...


def _input_shape(region: Region) -> tuple[int, int]:
    x1, y1, x2, y2 = region.box
    h, w = max(1, round((y2 - y1) * region.scale)), max(1, round((x2 - x1) * region.scale))
    return -(-h // 32) * 32, -(-w // 32) * 32


def uncut(found: Detections, box: tuple[int, int, int, int], frame_shape: tuple[int, int]) -> np.ndarray:
    """Mask of the faces (frame px) that reach no side of the region `box` lying inside the frame."""
    if len(found) == 0:
        return np.zeros(0, bool)
    h, w = frame_shape
    x1, y1, x2, y2 = box
    b = found.xyxy
    cut = np.zeros(len(found), bool)
    if x1 > 0:
        cut |= b[:, 0] <= x1 + EDGE
    if y1 > 0:
        cut |= b[:, 1] <= y1 + EDGE
    if x2 < w:
        cut |= b[:, 2] >= x2 - EDGE
    if y2 < h:
        cut |= b[:, 3] >= y2 - EDGE
    return ~cut


def _shift(d: Detections, dx: float, dy: float) -> Detections:
    offset = np.array([dx, dy], np.float32)
    landmarks = None if d.landmarks is None else d.landmarks + offset
    return Detections(d.xyxy + np.tile(offset, 2), d.det_scores, landmarks)


def detect_planned(
    detector: RegionDetector,
    frames: list[tuple[np.ndarray, list[Region]]],
    min_score: float | None = None,
) -> list[Detections]:
    """Each frame's faces in its regions (frame px): one session run per input shape for all frames (split where
    MAX_BATCH_PIXELS would be passed)."""
    groups: dict[tuple[int, int], list[tuple[int, Region]]] = defaultdict(list)
    for index, (_, regions) in enumerate(frames):
        for region in regions:
            groups[_input_shape(region)].append((index, region))
    parts: list[list[Detections]] = [[] for _ in frames]
    for (ih, iw), members in groups.items():
        per_run = max(1, MAX_BATCH_PIXELS // (ih * iw))
        for start in range(0, len(members), per_run):
            batch = members[start : start + per_run]
            crops = [frames[i][0][r.box[1] : r.box[3], r.box[0] : r.box[2]] for i, r in batch]
            found = detector.detect_each(crops, [r.scale for _, r in batch], min_score)
            for (index, region), faces in zip(batch, found, strict=True):
                shifted = _shift(faces, region.box[0], region.box[1])
                parts[index].append(shifted[uncut(shifted, region.box, frames[index][0].shape[:2])])
    return [merge_detections(p) if len(p) > 1 else (p[0] if p else Detections.empty()) for p in parts]
