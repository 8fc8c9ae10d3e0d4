"""Training photos for the face detector and their augmentation.

Photos come from PASCAL VOC folders, restricted to the images a dataset manifest puts in its train split (by
image, as `maskwatch data build` split them); a share of the train groups is held out as a tune split for
watching the run. Every annotated face is a target, of any class.

Each sample is a random square window of a photo resized to the training size: one face of the photo is drawn
and the window's scale set so that this face comes out at a size drawn log-uniformly between `min_face` and
`max_face_frac` of the window (tiny faces of wide scenes up to a face that fills a close-up frame); windows larger
than the photo are padded with the detector's mean colour, as inference pads. Then a horizontal flip and colour
jitter (brightness, contrast, saturation, hue, as biubug6/Pytorch_Retinaface does).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.detect.retinaface import BGR_MEAN
from maskwatch.evaluate.voc import read_voc_folder, restrict_to_split


@dataclass
class Photo:
    path: str
    source: str
    group: str
    boxes: np.ndarray  # (M, 4) float32 training targets, source pixels (see uncalibrate)
    labels: list[str]
    annotated: np.ndarray  # (M, 4) the boxes as annotated, for scoring


@dataclass
class AugmentConfig:
    min_face: float = 8.0  # px at the network input, the smallest size a drawn face is scaled to
    max_face_frac: float = 0.9  # ... and the largest, as a share of the window side
    max_zoom_in: float = 4.5  # at most this magnification (inference upscales photos up to ~4x, not more)
    max_zoom_out: float = 1.5  # a window at most this many times the photo's long side (the rest is padding)
    min_target_px: float = 6.0  # faces smaller than this after scaling are ignored, neither face nor background
    flip: float = 0.5
    colour: bool = True


@dataclass
class Sample:
    image: np.ndarray  # T x T x 3 uint8 BGR
    boxes: np.ndarray  # (K, 4) targets in window pixels
    ignore: np.ndarray  # (L, 4) faces that are neither target nor background (cut by the window, too small)


def _groups_by_image(manifest: Path) -> dict[tuple[str, ...], str]:
    with Path(manifest).open(newline="") as f:
        return {Path(r["image"].replace("\\", "/")).parts[-3:]: r["group"] for r in csv.DictReader(f)}


def in_tune_split(group: str, share: float) -> bool:
    """A fixed share of the manifest's groups, by a hash of the group name (the same on every machine)."""
    return int(hashlib.sha1(group.encode()).hexdigest()[:8], 16) / 2**32 < share


def load_photos(folders: list[Path], manifest: Path, tune_share: float) -> tuple[list[Photo], list[Photo]]:
    """(train, tune) photos: the manifest's train images of the VOC folders, tune_share of their groups held out."""
    groups = _groups_by_image(manifest)
    train: list[Photo] = []
    tune: list[Photo] = []
    for folder in folders:
        annotations, _ = restrict_to_split(read_voc_folder(Path(folder), min_face_px=0), manifest, "train")
        for ann in annotations:
            if ann.path is None:
                raise UserError(f"{ann.name}: the annotation names no image file")
            group = groups.get(Path(ann.path).parts[-3:], ann.name)
            boxes = ann.boxes.astype(np.float32)
            photo = Photo(ann.path, Path(folder).name, group, boxes, list(ann.labels), boxes.copy())
            (tune if in_tune_split(group, tune_share) else train).append(photo)
    return train, tune


def uncalibrate(boxes: np.ndarray, offsets: Sequence[float]) -> np.ndarray:
    """The detector box that BoxCalibration(offsets) would move onto each annotated box (its exact inverse):
    annotated faces as targets in the detector's own box convention."""
    o = np.asarray(offsets, np.float32)
    w = (boxes[:, 2] - boxes[:, 0]) / (1 + o[2] - o[0])
    h = (boxes[:, 3] - boxes[:, 1]) / (1 + o[3] - o[1])
    return np.stack([boxes[:, 0] - o[0] * w, boxes[:, 1] - o[1] * h, boxes[:, 2] - o[2] * w, boxes[:, 3] - o[3] * h], 1)


def _window(
    rng: np.random.Generator, photo_hw: tuple[int, ...], boxes: np.ndarray, size: int, cfg: AugmentConfig
) -> tuple[float, float, float]:
    """(x0, y0, side) of the source window and its magnification."""
    h, w = photo_hw
    sides = np.max(boxes[:, 2:] - boxes[:, :2], axis=1) if len(boxes) else np.zeros(0)
    if len(boxes) and sides.max() > 0:
        k = int(rng.integers(len(boxes)))
        target = np.exp(rng.uniform(np.log(cfg.min_face), np.log(cfg.max_face_frac * size)))
        zoom = target / max(float(sides[k]), 1.0)
        face = boxes[k]
    else:
        zoom, face = size / max(h, w) * rng.uniform(0.5, 1.5), np.array([0, 0, w, h], np.float32)
    zoom = float(np.clip(zoom, size / (cfg.max_zoom_out * max(h, w)), cfg.max_zoom_in))
    side = size / zoom
    starts = []
    for lo_face, hi_face, extent in ((face[0], face[2], w), (face[1], face[3], h)):
        if side >= extent:
            lo, hi = extent - side, 0.0
        else:
            lo, hi = max(0.0, hi_face - side), min(lo_face, extent - side)
        starts.append(rng.uniform(lo, hi) if hi > lo else min(max(lo, hi), max(0.0, extent - side)))
    return starts[0], starts[1], side


def _render(image: np.ndarray, x0: float, y0: float, side: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The window resized to size x size (mean colour outside the photo) and the per-axis affine (sx, tx, sy, ty)
    that maps source pixels into it."""
    h, w = image.shape[:2]
    zoom = size / side
    out = np.empty((size, size, 3), np.uint8)
    out[:] = BGR_MEAN.astype(np.uint8)
    ax0, ay0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    ax1, ay1 = min(w, int(np.ceil(x0 + side))), min(h, int(np.ceil(y0 + side)))
    dx0, dy0 = round((ax0 - x0) * zoom), round((ay0 - y0) * zoom)
    dx1, dy1 = min(size, round((ax1 - x0) * zoom)), min(size, round((ay1 - y0) * zoom))
    dx0, dy0 = max(0, dx0), max(0, dy0)
    if dx1 - dx0 < 1 or dy1 - dy0 < 1 or ax1 <= ax0 or ay1 <= ay0:
        return out, np.array([zoom, -x0 * zoom, zoom, -y0 * zoom], np.float32)
    interp = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
    out[dy0:dy1, dx0:dx1] = cv2.resize(image[ay0:ay1, ax0:ax1], (dx1 - dx0, dy1 - dy0), interpolation=interp)
    sx, sy = (dx1 - dx0) / (ax1 - ax0), (dy1 - dy0) / (ay1 - ay0)
    return out, np.array([sx, dx0 - ax0 * sx, sy, dy0 - ay0 * sy], np.float32)


def _colour(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """biubug6's photometric distortion: brightness, contrast, saturation and hue, each on half the samples."""
    img = image.astype(np.float32)
    if rng.random() < 0.5:
        img += rng.uniform(-32, 32)
    if rng.random() < 0.5:
        img *= rng.uniform(0.5, 1.5)
    img = np.clip(img, 0, 255).astype(np.uint8)
    hsv = None
    if rng.random() < 0.5:
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.5, 1.5), 0, 255)
    if rng.random() < 0.5:
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.float32) if hsv is None else hsv
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-9, 9)) % 180  # OpenCV hue is 0..180: +-18 degrees
    return img if hsv is None else cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def make_sample(
    image: np.ndarray, boxes: np.ndarray, size: int, rng: np.random.Generator, cfg: AugmentConfig | None = None
) -> Sample:
    """One training window of `image` with its target boxes (see the module docstring)."""
    cfg = cfg or AugmentConfig()
    x0, y0, side = _window(rng, image.shape[:2], boxes, size, cfg)
    out, (sx, tx, sy, ty) = _render(image, x0, y0, side, size)
    moved = boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([tx, ty, tx, ty], np.float32)
    centre = (moved[:, :2] + moved[:, 2:]) / 2
    inside = np.all((centre >= 0) & (centre < size), axis=1)
    overlaps = (moved[:, 2] > 0) & (moved[:, 0] < size) & (moved[:, 3] > 0) & (moved[:, 1] < size)
    clipped = moved.clip(0, size)
    big = np.max(clipped[:, 2:] - clipped[:, :2], axis=1) >= cfg.min_target_px if len(boxes) else np.zeros(0, bool)
    targets, ignore = clipped[inside & big], clipped[overlaps & ~(inside & big)]
    if rng.random() < cfg.flip:
        out = out[:, ::-1]
        targets = np.stack([size - targets[:, 2], targets[:, 1], size - targets[:, 0], targets[:, 3]], 1)
        ignore = np.stack([size - ignore[:, 2], ignore[:, 1], size - ignore[:, 0], ignore[:, 3]], 1)
    if cfg.colour:
        out = _colour(rng, out)
    return Sample(
        np.ascontiguousarray(out), targets.reshape(-1, 4).astype(np.float32), ignore.reshape(-1, 4).astype(np.float32)
    )
