"""Faces in regions of a frame (tiles, or any crops a caller picks), batched, and the merging of passes.

A face cut by a region's edge must not become two faces, nor a half face. Each detection belongs to the region
in which its centre lies deepest (farthest from every region side that is inside the frame; the frame's own
border is no edge): of overlapping regions, only that one's detections are kept. For regular tiles that is the
region up to the middle of each overlap, and a face no larger than the overlap always lies wholly in the region
that owns it, while the cut views of it in the neighbours have their centres on the neighbours' far side of that
middle. Passes at several scales are then merged by NMS, and of two boxes of which the smaller lies mostly
inside the larger (a part of a large face found again at a finer scale) the lower-scoring one is dropped.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.detect.anchors import box_iou

MAX_BATCH_PIXELS = 4_000_000  # detector input pixels per session run: ~0.5 GB peak memory on a 1080p frame
MERGE_IOU = 0.4  # as the detector's own NMS
CONTAINED = 0.75  # two boxes, the smaller with this share of its area inside the larger, are one face


class ScaledDetector(Protocol):
    min_score: float

    def detect_scaled(self, images: list[np.ndarray], scale: float, min_score: float | None = None) -> list[Detections]:
        """Images of one shape, each resized by scale; boxes in each image's own pixels."""
        ...


def detect_regions(
    detector: ScaledDetector,
    image: np.ndarray,
    regions: np.ndarray,
    scale: float,
    min_score: float | None = None,
    max_face: float | None = None,
) -> Detections:
    """Faces in `regions` (K, 4) x1 y1 x2 y2 of one size, each resized by `scale`, in as few session runs as
    MAX_BATCH_PIXELS allows; boxes and landmarks in frame pixels, each face kept by the region that owns it.
    Where several regions overlap, faces larger than `max_face` (frame px; e.g. the overlap) are dropped: such a
    face may be cut in every region, and its cut views would pass for faces; leave it to a coarser pass."""
    regions = np.asarray(regions, np.int64).reshape(-1, 4)
    crops = [image[y1:y2, x1:x2] for x1, y1, x2, y2 in regions]
    pixels = crops[0].shape[0] * crops[0].shape[1] * scale * scale
    per_run = max(1, int(MAX_BATCH_PIXELS // max(pixels, 1)))
    found: list[Detections] = []
    for start in range(0, len(crops), per_run):
        found += detector.detect_scaled(crops[start : start + per_run], scale, min_score)
    shifted = [_shift(d, x1, y1) for d, (x1, y1, _, _) in zip(found, regions, strict=True)]
    if len(regions) == 1:
        return shifted[0]
    keep = [owned_by(d.xyxy, regions, k, image.shape[:2]) for k, d in enumerate(shifted)]
    if max_face is not None:
        keep = [
            m & ((d.xyxy[:, 2:] - d.xyxy[:, :2]).max(axis=1) <= max_face) for m, d in zip(keep, shifted, strict=True)
        ]
    return concat([d[m] for d, m in zip(shifted, keep, strict=True)])


def _shift(d: Detections, dx: float, dy: float) -> Detections:
    if dx == 0 and dy == 0:
        return d
    offset = np.array([dx, dy], np.float32)
    lm = None if d.landmarks is None else d.landmarks + offset
    return Detections(d.xyxy + np.tile(offset, 2), d.det_scores, lm, d.class_probs, d.track_ids, dict(d.data))


def interior_depth(points: np.ndarray, regions: np.ndarray, frame_shape: tuple[int, int]) -> np.ndarray:
    """(N, K) distance of each point to the nearest side of each region that lies inside the frame (sides on the
    frame's border do not count); negative where the point is outside the region."""
    h, w = frame_shape
    x, y = points[:, 0:1], points[:, 1:2]
    x1, y1, x2, y2 = (regions[:, i][None, :].astype(np.float64) for i in range(4))
    inf = np.inf
    sides = [
        np.where(x1 > 0, x - x1, inf),
        np.where(y1 > 0, y - y1, inf),
        np.where(x2 < w, x2 - x, inf),
        np.where(y2 < h, y2 - y, inf),
    ]
    depth = np.minimum.reduce(sides)
    inside = (x >= x1) & (x <= x2) & (y >= y1) & (y <= y2)
    return np.where(inside, depth, -1.0)


def owned_by(boxes: np.ndarray, regions: np.ndarray, k: int, frame_shape: tuple[int, int]) -> np.ndarray:
    """Mask of the boxes (found in region k) whose centre lies deepest in region k of all regions (ties: the
    lower index)."""
    if len(boxes) == 0:
        return np.zeros(0, bool)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    depth = interior_depth(centres, regions, frame_shape)
    best = np.argmax(depth, axis=1)  # first maximum: ties go to the lower index
    return best == k


def concat(parts: list[Detections]) -> Detections:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Detections.empty()
    if len(parts) == 1:
        return parts[0]
    lms = [p.landmarks for p in parts if p.landmarks is not None]
    return Detections(
        np.concatenate([p.xyxy for p in parts]),
        np.concatenate([p.det_scores for p in parts]),
        np.concatenate(lms) if len(lms) == len(parts) else None,
    )


def merge_detections(parts: list[Detections], iou: float = MERGE_IOU, contained: float = CONTAINED) -> Detections:
    """One set of faces from several passes: highest score first, a box is dropped where it overlaps a kept one
    by more than `iou`, or where the smaller of the two lies with `contained` of its area inside the larger (faces
    do not nest: one is a part of the other, or the other a loose box around it)."""
    merged = concat(parts)
    if len(merged) <= 1 or len(parts) <= 1:
        return merged
    order = np.argsort(-merged.det_scores, kind="stable")
    boxes = merged.xyxy[order].astype(np.float64)
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    overlap = box_iou(boxes, boxes)
    tl = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    br = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    inside = inter / np.maximum(np.minimum(area[:, None], area[None, :]), 1e-9)  # share of the smaller box inside
    keep: list[int] = []
    for i in range(len(boxes)):
        if not keep or not np.any((overlap[i, keep] > iou) | (inside[i, keep] >= contained)):
            keep.append(i)
    return merged[order[keep]]
