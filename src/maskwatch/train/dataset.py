"""The crop dataset written by `maskwatch data build`, loaded whole into memory as one uint8 array."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.data.manifest import ManifestRow


@dataclass
class CropSet:
    """One split: images (N, S, S, 3) BGR uint8, labels (N,) class indices, and the manifest rows they came from."""

    images: np.ndarray
    labels: np.ndarray
    sources: np.ndarray
    paths: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(CLASSES))


def check_splits(dataset_dir: Path, rows: list[ManifestRow]) -> None:
    """Fail before any decoding when a split the training needs has no rows."""
    for split in ("train", "val"):
        if not any(r.split == split for r in rows):
            raise UserError(f"{dataset_dir}/manifest.csv: the {split} split is empty")


def _load(path: Path, size: int) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError(f"unreadable crop: {path}")
    if image.shape[:2] != (size, size):
        # INTER_AREA as MaskClassifier.predict uses when it resizes crops.
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


def load_split(dataset_dir: Path, rows: list[ManifestRow], split: str, size: int, threads: int = 2) -> CropSet:
    """All crops of one split resized to size x size (threads decode JPEGs; cv2 releases the GIL)."""
    chosen = [r for r in rows if r.split == split]
    if not chosen:
        raise UserError(f"{dataset_dir}/manifest.csv: the {split} split is empty")
    images = np.empty((len(chosen), size, size, 3), np.uint8)

    def fill(i: int) -> None:
        images[i] = _load(Path(dataset_dir) / chosen[i].path, size)

    with ThreadPoolExecutor(max(1, threads)) as pool:
        list(pool.map(fill, range(len(chosen))))
    labels = np.array([CLASSES.index(r.label) for r in chosen], np.int64)
    return CropSet(images, labels, np.array([r.source for r in chosen]), [r.path for r in chosen])


def limit_rows(rows: list[ManifestRow], limit: int, seed: int) -> list[ManifestRow]:
    """A random subset of about `limit` rows, 80 % train and 20 % val (for smoke tests)."""
    rng = np.random.default_rng(seed)
    out = []
    for split in ("train", "val"):
        part = [r for r in rows if r.split == split]
        n = max(1, round(limit * (0.8 if split == "train" else 0.2)))
        if len(part) > n:
            part = [part[i] for i in sorted(rng.choice(len(part), n, replace=False))]
        out += part
    return out
