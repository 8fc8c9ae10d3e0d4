"""Anchor generation, box/landmark decoding and non-maximum suppression for SSD-style face detectors."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def prior_boxes(height: int, width: int, steps: tuple[int, ...], min_sizes: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """(N, 4) priors as (cx, cy, w, h) relative to the input size, in the order the network emits them:
    per feature map, row by row, cell by cell, one prior per min size."""
    out = []
    for step, sizes in zip(steps, min_sizes, strict=True):
        rows, cols = math.ceil(height / step), math.ceil(width / step)
        cy, cx = np.meshgrid(
            (np.arange(rows) + 0.5) * step / height, (np.arange(cols) + 0.5) * step / width, indexing="ij"
        )
        centres = np.stack([cx.ravel(), cy.ravel()], axis=1)
        wh = np.array([[s / width, s / height] for s in sizes], np.float64)
        per_cell = np.concatenate([np.repeat(centres, len(sizes), axis=0), np.tile(wh, (len(centres), 1))], axis=1)
        out.append(per_cell)
    priors = np.concatenate(out).astype(np.float32)
    priors.setflags(write=False)
    return priors


def decode_boxes(loc: np.ndarray, priors: np.ndarray, variances: tuple[float, float] = (0.1, 0.2)) -> np.ndarray:
    """SSD decode of (N, 4) offsets against (N, 4) priors into relative (x1, y1, x2, y2)."""
    centre = priors[:, :2] + loc[:, :2] * variances[0] * priors[:, 2:]
    size = priors[:, 2:] * np.exp(loc[:, 2:] * variances[1])
    return np.concatenate([centre - size / 2, centre + size / 2], axis=1)


def decode_landmarks(pre: np.ndarray, priors: np.ndarray, variance: float = 0.1) -> np.ndarray:
    """(N, 10) landmark offsets into (N, 5, 2) relative points."""
    pts = pre.reshape(-1, 5, 2)
    return priors[:, None, :2] + pts * variance * priors[:, None, 2:]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of x1y1x2y2 boxes (a single box may be given as a flat array)."""
    a, b = np.asarray(a).reshape(-1, 4), np.asarray(b).reshape(-1, 4)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def greedy_match(a: np.ndarray, b: np.ndarray, min_iou: float) -> np.ndarray:
    """For each box of `a` the index of its partner in `b` (-1 if none): pairs taken best IoU first, each used once."""
    match = np.full(len(a), -1)
    if len(a) == 0 or len(b) == 0:
        return match
    iou = box_iou(a, b)
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] < min_iou:
            break
        if match[i] < 0 and j not in match:
            match[i] = j
    return match


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy NMS, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        ious = box_iou(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.array(keep, dtype=np.int64)
