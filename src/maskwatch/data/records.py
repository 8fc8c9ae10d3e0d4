"""Typed records the importers return and the build stage passes along."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskwatch.core.media import IMAGE_EXTS

MIN_BOX_PX = 10  # boxes whose shorter side is under this are dropped
MIN_IMAGE_PX = 32  # images whose shorter side is under this are dropped


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS


@dataclass
class AnnotatedImage:
    """A scene with face boxes (VOC / YOLO): boxes (N, 4) float32 pixel x1 y1 x2 y2, labels in CLASSES."""

    path: Path
    width: int
    height: int
    boxes: np.ndarray
    labels: list[str]
    source: str


@dataclass
class LabeledImage:
    """One image in a class folder: usually a single face, labelled as a whole."""

    path: Path
    label: str
    source: str


@dataclass
class SourceScan:
    """What one source folder yielded: its images and what was skipped while reading annotations, by reason."""

    name: str
    layout: str  # "voc" | "yolo" | "folders"
    items: list[AnnotatedImage | LabeledImage]
    dropped: Counter = field(default_factory=Counter)
    unknown_names: Counter = field(default_factory=Counter)  # label name -> count, for the report
