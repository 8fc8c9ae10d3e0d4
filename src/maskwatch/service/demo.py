"""The demo `make run` serves: its video, built from CC0 street photos of ../shared/data/andrewmvd (never
committed), and its config file, written once into the data folder so that zones drawn in the UI are kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import yaml

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


def demo_photo_paths(
    photos_dir: Path = DATA_DIR / "andrewmvd" / "images", photos: Sequence[str] = DEMO_PHOTOS
) -> list[Path]:
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
    photos: Sequence[str] = DEMO_PHOTOS,
    size: tuple[int, int] = (960, 540),
    fps: int = 15,
    seconds_each: float = 2.5,
) -> Path:
    """Each photo letterboxed into the frame with a slow zoom, so faces move as in a video."""
    paths = demo_photo_paths(photos_dir, photos)
    out.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    n = int(fps * seconds_each)
    for path in paths:
        image = cv2.imread(str(path))
        if image is None:
            raise UserError(f"the demo video cannot be made: {path} is not a readable image")
        base = min(w / image.shape[1], h / image.shape[0])
        for i in range(n):
            zoom = base * (1 + 0.15 * i / n)
            m = np.array(
                [[zoom, 0, (w - image.shape[1] * zoom) / 2], [0, zoom, (h - image.shape[0] * zoom) / 2]], np.float32
            )
            writer.write(cv2.warpAffine(image, m, size, borderMode=cv2.BORDER_CONSTANT, borderValue=(30, 30, 30)))
    writer.release()
    return out


DEMO_CONFIG = Path("maskwatch-data") / "demo.yaml"  # relative to where `serve` starts, beside the demo's data

_HEADER = """\
# The demo's config. `maskwatch serve` without --config wrote it and reads it at each start; zones drawn in the
# web UI are saved here. Delete this file to get the demo's own zones back. For your cameras, write a config of
# your own (see examples/maskwatch.yaml) and run `maskwatch serve --config FILE`.
"""


def demo_config_file(path: Path = DEMO_CONFIG) -> tuple[Path, bool]:
    """The demo's config file, written from AppConfig.default_demo() where it is not there yet (storage beside
    it); returns its absolute path and whether it was written now."""
    from maskwatch.config import AppConfig

    path = path.absolute()
    if path.is_file():
        return path, False
    demo = AppConfig.default_demo().model_dump(mode="json", exclude_defaults=True)
    demo["storage"].update(database="events.db", snapshots="snapshots")  # relative to this file
    demo["storage"].pop("clips", None)  # beside the snapshots
    for camera in demo["cameras"]:
        for zone in camera.get("zones", []):
            zone["polygon"] = [[round(x, 4), round(y, 4)] for x, y in zone["polygon"]]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_HEADER + yaml.safe_dump(demo, sort_keys=False, default_flow_style=None), encoding="utf-8")
    except OSError as err:
        raise UserError(f"cannot write the demo's config {path}: {err.strerror or err}") from None
    return path, True
