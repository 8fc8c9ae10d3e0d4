"""Calibration inputs for static INT8 quantisation: face crops for the classifier, photos for the detector.

Both readers feed ONNX Runtime's calibrator exactly what inference feeds the model (the same resize, the
same dtype, the detector's own pre-processing), so the recorded activation ranges are the ones that matter.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from onnxruntime.quantization import CalibrationDataReader

from maskwatch.core.errors import UserError
from maskwatch.core.media import read_image
from maskwatch.data.manifest import ManifestRow, read_manifest


class _BatchReader(CalibrationDataReader):
    """Replays the batches of _iter() from the start after each rewind()."""

    _batches: Iterator | None = None

    def _iter(self) -> Iterator[dict[str, np.ndarray]]:
        raise NotImplementedError

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._batches is None:
            self._batches = self._iter()
        return next(self._batches, None)

    def rewind(self) -> None:
        self._batches = None


class CropCalibrationReader(_BatchReader):
    """BGR face crops → batches of the classifier's input: float32 [N, S, S, 3], 0..255."""

    def __init__(self, crops: Sequence[np.ndarray], input_size: int, input_name: str = "input", batch: int = 32):
        if len(crops) == 0:
            raise UserError("no calibration crops")
        self.crops, self.input_size, self.input_name, self.batch = crops, input_size, input_name, batch

    def _iter(self) -> Iterator[dict[str, np.ndarray]]:
        s = self.input_size
        for start in range(0, len(self.crops), self.batch):
            chunk = [
                c if c.shape[:2] == (s, s) else cv2.resize(c, (s, s), interpolation=cv2.INTER_AREA)
                for c in self.crops[start : start + self.batch]
            ]
            yield {self.input_name: np.stack(chunk).astype(np.float32)}


class PhotoCalibrationReader(_BatchReader):
    """BGR photos → the detector's input blobs, one photo per batch, through each of the detector's own
    prepare() functions (one per input size), made one at a time (a 1024 px blob is 12 MB)."""

    def __init__(self, images: Sequence[np.ndarray], prepares: Sequence[Callable], input_name: str = "input"):
        if len(images) == 0:
            raise UserError("no calibration photos")
        self.images, self.prepares, self.input_name = images, list(prepares), input_name

    def _iter(self) -> Iterator[dict[str, np.ndarray]]:
        for image in self.images:
            for prepare in self.prepares:
                yield {self.input_name: prepare(image)[0]}


def sample_crops(dataset_dir: Path, n: int = 300, split: str = "train", seed: int = 0) -> list[np.ndarray]:
    """About n crops of `split`, the same number per class where the classes allow (a fixed random draw)."""
    rows = read_manifest(dataset_dir, ("path", "label"), split)
    by_label: dict[str, list[ManifestRow]] = {}
    for r in rows:
        by_label.setdefault(r.label, []).append(r)
    rng = random.Random(seed)
    per_class = max(1, n // len(by_label))
    picked = []
    for label in sorted(by_label):
        group = by_label[label]
        picked += rng.sample(group, min(per_class, len(group)))
    rng.shuffle(picked)
    return [read_image(Path(dataset_dir) / r.path) for r in picked[:n]]


def sample_photos(
    dataset_dir: Path, n: int = 40, split: str = "train", seed: int = 0, sources: tuple[str, ...] | None = None
) -> list[np.ndarray]:
    """n distinct source photos whose faces are in `split` (optionally only from `sources`), a fixed random draw."""
    rows = read_manifest(dataset_dir, ("image", "source"), split)
    images = sorted({r.image for r in rows if sources is None or r.source in sources})
    if not images:
        raise UserError(f"{dataset_dir}: no {split} photos from {sources}")
    chosen = random.Random(seed).sample(images, min(n, len(images)))
    root = Path(dataset_dir)
    return [read_image(Path(p) if Path(p).is_absolute() or Path(p).exists() else root / p) for p in chosen]
