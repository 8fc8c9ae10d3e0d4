"""manifest.csv, the crop dataset's index written by `maskwatch data build`: one row per face crop. Read here, once,
for training, evaluation, calibration and the data report.

Hand-made manifests may hold only the columns their use needs (`image,split` to restrict an evaluation to the val
photos, say); the columns a caller needs are checked, the others default to empty (numbers to NaN).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES, normalize_label

MANIFEST_COLUMNS = ("path", "label", "source", "split", "group", "image", "box", "face_px", "brightness")
CROP_COLUMNS = ("path", "label", "source", "split")  # what every use of the crops needs


@dataclass(frozen=True)
class ManifestRow:
    path: str = ""  # the crop, relative to the dataset folder (crops/<label>/<source>-<sha1>-<n>.jpg)
    label: str = ""  # one of CLASSES
    source: str = ""  # the dataset the photo came from (andrewmvd, jolignier, ...)
    split: str = ""  # train or val
    group: str = ""  # near-duplicate photos share a group, and so a split
    image: str = ""  # the source photo
    box: str = ""  # the face in the photo: "x1 y1 x2 y2" in pixels
    face_px: float = math.nan  # the face's long side in the photo, in pixels
    brightness: float = math.nan  # the crop's mean grey, 0..255


_NUMBERS = ("face_px", "brightness")


def manifest_path(location: str | Path) -> Path:
    """A dataset folder's manifest.csv, or the file itself when `location` names a .csv file."""
    location = Path(location)
    return location if location.suffix.lower() == ".csv" else location / "manifest.csv"


def read_manifest(
    location: str | Path, columns: tuple[str, ...] = CROP_COLUMNS, split: str | None = None
) -> list[ManifestRow]:
    """The rows of a dataset folder's manifest.csv (or of the .csv file `location` names), in file order; only those
    of `split` when given. UserError when the file is missing, lacks one of `columns`, holds a label that is not a
    face-mask label or a number that is not one, or has no row of `split`."""
    path = manifest_path(location)
    if split is not None and "split" not in columns:
        columns = (*columns, "split")
    if not path.is_file():
        if path == Path(location):
            raise UserError(f"{path}: manifest not found")
        raise UserError(f"{location}: no manifest.csv (build one with `maskwatch data build`)")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path}: needs columns {', '.join(columns)} (missing: {', '.join(missing)})")
        known = [c for c in (reader.fieldnames or []) if c in MANIFEST_COLUMNS]
        rows = [_row(path, reader.line_num, r, known) for r in reader if split is None or r["split"] == split]
    if split is not None and not rows:
        raise UserError(f"{path}: no rows with split == {split}")
    return rows


def _row(path: Path, line: int, record: dict[str, str], known: list[str]) -> ManifestRow:
    values: dict[str, Any] = {c: record[c] or "" for c in known}  # strings, then a label and numbers
    if "label" in values:
        label = normalize_label(str(values["label"]))
        if label is None:
            raise UserError(f"{path}:{line}: unknown label {values['label']!r} (expected {', '.join(CLASSES)})")
        values["label"] = label
    for name in _NUMBERS:
        if name in values:
            try:
                values[name] = float(values[name] or "nan")
            except ValueError:
                raise UserError(f"{path}:{line}: {name} {values[name]!r} is not a number") from None
    return ManifestRow(**values)
