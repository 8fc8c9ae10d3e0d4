"""Which detector passes an image needs, chosen from its size: every face from about 10 px to the whole frame.

RetinaFace (MobileNet-0.25) has anchors of 16 to 512 px at its input and finds faces well from about 20 px to a
few hundred. One fixed input size cannot serve every camera: a 240-px close-up blown up to 1024 px pushes its
face past the largest anchors, and a 1080p frame shrunk to 1024 px loses its 15-30 px faces. So:

- a whole-image pass whose scale keeps the largest face the image can hold (its short side) within
  `largest_face_in` px at the detector's input: no small image is blown up past that point;
- finer levels up to `top_scale` (the scale that brings a `smallest_face` px face to a size the detector finds),
  each level at most `level_ratio` times the one below, run on overlapping tiles where the scaled image is larger
  than `tile_in`; the tiles overlap by `overlap_in` px at the input, so any face up to that size lies wholly in
  one tile, and larger faces are the coarser levels' work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Where the whole-image pass is within this factor below top_scale, one pass at top_scale does for both (the
# largest face then reaches up to this factor over largest_face_in, still within the anchors).
MIN_LEVEL_STEP = 1.3


@dataclass(frozen=True)
class ScaleSettings:
    largest_face_in: float = 400.0  # px at the detector's input that the image's short side is brought to (at most)
    max_whole_side: int = 1024  # and the whole-image pass's long side at most this
    top_scale: float = 2.0  # the finest level's scale: a 10 px face becomes 20 px
    level_ratio: float = 8.0  # consecutive levels differ by at most this factor
    tile_in: int = 2240  # a level's scaled image larger than this (either side) is cut into tiles of at most this
    overlap_in: int = 320  # px the tiles overlap by, at the detector's input

    def __post_init__(self) -> None:
        if not (self.largest_face_in > 0 and self.top_scale > 0 and self.level_ratio > 1):
            raise ValueError("largest_face_in and top_scale must be positive, level_ratio above 1")
        if not 0 <= self.overlap_in < self.tile_in:
            raise ValueError("overlap_in must be below tile_in")


@dataclass(frozen=True)
class ScalePass:
    """One detector pass: the image's `regions` (K, 4) x1 y1 x2 y2 in image pixels, all of one size, each resized
    by `scale`. A single region covering the whole image is an untiled pass."""

    scale: float
    regions: np.ndarray

    def largest_whole_face(self, overlap_in: int) -> float:
        """Image px: the largest face this pass is sure to see whole in one of its regions (no limit untiled)."""
        return overlap_in / self.scale if self.tiled else float("inf")

    @property
    def tiled(self) -> bool:
        return len(self.regions) > 1

    @property
    def input_shape(self) -> tuple[int, int]:
        """Height, width of one region at the detector's input (before padding to a multiple of 32)."""
        x1, y1, x2, y2 = self.regions[0]
        return max(1, round((y2 - y1) * self.scale)), max(1, round((x2 - x1) * self.scale))


def level_scales(height: int, width: int, settings: ScaleSettings = ScaleSettings()) -> list[float]:
    """Scales of the passes, coarsest first: the whole-image pass, then finer levels up to top_scale."""
    whole = min(settings.largest_face_in / min(height, width), settings.max_whole_side / max(height, width))
    if whole >= settings.top_scale:
        return [whole]
    if whole >= settings.top_scale / MIN_LEVEL_STEP:
        return [settings.top_scale]
    steps = math.ceil(math.log(settings.top_scale / whole) / math.log(settings.level_ratio))
    return [whole * (settings.top_scale / whole) ** (i / steps) for i in range(steps + 1)]


def tile_starts(length: int, tile: int, count: int) -> list[int]:
    """Start offsets of `count` tiles of `tile` px spread evenly over `length` px: the first at 0, the last at
    the end."""
    if count <= 1 or tile >= length:
        return [0]
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_grid(height: int, width: int, scale: float, tile_in: int, overlap_in: int) -> np.ndarray:
    """(K, 4) regions of one size covering the image, each at most tile_in px at the input once resized by scale,
    neighbours overlapping by overlap_in px at the input, as few as that allows and no larger than needed (a 4800
    px wide scaled image with 1536 px tiles gets four tiles of 1344 px, not four of 1536)."""
    sides = []
    for length in (width, height):
        max_side = max(1, math.floor(tile_in / scale))
        if length <= max_side:
            sides.append((length, [0]))
            continue
        overlap = math.ceil(overlap_in / scale)
        count = math.ceil((length - overlap) / (max_side - overlap))
        side = math.ceil((length + (count - 1) * overlap) / count)
        sides.append((side, tile_starts(length, side, count)))
    (tw, xs), (th, ys) = sides
    return np.array([[x, y, x + tw, y + th] for y in ys for x in xs], np.int64)


def plan_scales(height: int, width: int, settings: ScaleSettings = ScaleSettings()) -> list[ScalePass]:
    """The passes for an image of this size, coarsest first."""
    return [
        ScalePass(s, tile_grid(height, width, s, settings.tile_in, settings.overlap_in))
        for s in level_scales(height, width, settings)
    ]


def fixed_scale(height: int, width: int, input_size: int) -> list[ScalePass]:
    """The single pass of an explicit input size: the long side brought to input_size, as before multi-scale."""
    return [ScalePass(input_size / max(height, width), np.array([[0, 0, width, height]], np.int64))]
