"""The demo video `make run` plays: built from CC0 street photos of ../shared/data/andrewmvd, never committed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.paths import SHARED_DATA as DATA_DIR

DEMO_PHOTOS = (
    "maksssksksss114.jpg",
    "maksssksksss125.jpg",
    "maksssksksss132.jpg",
    "maksssksksss106.jpg",
    "maksssksksss182.jpg",
    "maksssksksss154.jpg",
    "maksssksksss272.jpg",
    "maksssksksss140.jpg",
)


def demo_photo_paths(photos_dir: Path = DATA_DIR / "andrewmvd" / "images", photos=DEMO_PHOTOS) -> list[Path]:
    """The photos the demo is made of; a UserError saying what to do instead where they are not there."""
    paths = [photos_dir / p for p in photos]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UserError(
            f"the demo video cannot be made: its photos are not found ({missing[0]}); "
            "run with --config FILE naming your cameras (see examples/maskwatch.yaml)"
        )
    return paths


def make_demo_video(
    out: Path,
    photos_dir: Path = DATA_DIR / "andrewmvd" / "images",
    photos=DEMO_PHOTOS,
    size=(960, 540),
    fps: int = 15,
    seconds_each: float = 2.5,
) -> Path:
    """Each photo letterboxed into the frame with a slow zoom, so faces move as in a video."""
    paths = demo_photo_paths(photos_dir, photos)
    out.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    n = int(fps * seconds_each)
    for path in paths:
        image = cv2.imread(str(path))
        base = min(w / image.shape[1], h / image.shape[0])
        for i in range(n):
            zoom = base * (1 + 0.15 * i / n)
            m = np.array(
                [[zoom, 0, (w - image.shape[1] * zoom) / 2], [0, zoom, (h - image.shape[0] * zoom) / 2]], np.float32
            )
            writer.write(cv2.warpAffine(image, m, size, borderMode=cv2.BORDER_CONSTANT, borderValue=(30, 30, 30)))
    writer.release()
    return out
