"""Finding and reading the images and videos a user points the CLI at, with one-line errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.image_header import MAX_IMAGE_PIXELS, image_size

IMAGE_EXTS = {".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}


def grey_thumbnail(image: np.ndarray, factor: int) -> np.ndarray:
    """The image shrunk `factor` times by area averaging, in grey: what motion is measured on."""
    h, w = image.shape[:2]
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image  # first: averaging one channel
    return cv2.resize(grey, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)


@dataclass
class ImageList:
    paths: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one message per input that was not an image


def collect_images(inputs: Sequence[str | Path]) -> ImageList:
    """Expand files and folders into image paths; anything else becomes a skip message."""
    found = ImageList()
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            entries = sorted(p for p in path.rglob("*") if p.is_file())
            found.paths += [p for p in entries if p.suffix.lower() in IMAGE_EXTS]
            found.skipped += [f"{p}: not an image file" for p in entries if p.suffix.lower() not in IMAGE_EXTS]
        elif path.is_file():
            if path.suffix.lower() in IMAGE_EXTS:
                found.paths.append(path)
            else:
                found.skipped.append(f"{path}: not an image file")
        else:
            found.skipped.append(f"{path}: no such file or directory")
    return found


def read_image(path: Path) -> np.ndarray:
    """BGR uint8 image; grey, palette, alpha and 16-bit inputs converted; UserError when unreadable or larger than
    MAX_IMAGE_PIXELS (read from its header before anything is decoded: decompression bombs)."""
    data = np.fromfile(str(path), np.uint8) if path.is_file() else None
    if data is not None:
        check_pixels(path, image_size(data.tobytes()))
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data is not None and data.size else None
    if image is None:
        raise UserError(f"{path}: cannot be read as an image (corrupt or unsupported)")
    return image


def check_pixels(path: Path, size: tuple[int, int] | None, limit: int = MAX_IMAGE_PIXELS) -> None:
    """A UserError for an image or video frame of more than `limit` pixels; None (size unknown) passes."""
    if size is not None and size[0] * size[1] > limit:
        raise UserError(
            f"{path}: {size[0]}x{size[1]} pixels is more than the {limit / 1e6:.0f} megapixels read at most "
            "(refused before decoding: a decompression bomb?)"
        )


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTS


def unique_names(paths: list[Path]) -> dict[Path, str]:
    """File names as output keys; the full path where two inputs share a name."""
    counts: dict[str, int] = {}
    for p in paths:
        counts[p.name] = counts.get(p.name, 0) + 1
    return {p: p.name if counts[p.name] == 1 else str(p) for p in paths}
