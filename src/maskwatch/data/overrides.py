"""Label corrections that `maskwatch data build --overrides FILE` applies to the sources as it reads them; the
source files are never edited.

FILE is a CSV with a header and the columns `image,box,label` (further columns, such as a note, are ignored):
- image: the source photo as the manifest's `image` column names it (compared after resolving the path);
- box: "x1 y1 x2 y2" of the face in that photo (the manifest's `box`: the crop's box, which may be the detector's
  rather than the annotated one: the annotated box it overlaps most, IoU >= MATCH_IOU, is the one changed); empty
  for a class-folder image, whose one label is the image's;
- label: mask, no_mask or incorrect (any name the label aliases know), or `drop` to leave the face out.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import normalize_label
from maskwatch.data.records import AnnotatedImage, LabeledImage
from maskwatch.detect.anchors import box_iou

OVERRIDE_COLUMNS = ("image", "box", "label")
DROP = "drop"
MATCH_IOU = 0.4


@dataclass(frozen=True)
class Override:
    image: str  # resolved path
    box: tuple[float, float, float, float] | None
    label: str  # one of CLASSES, or DROP


def _key(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def _override(path: Path, line: int, record: dict[str, str]) -> Override:
    image = (record.get("image") or "").strip()
    if not image:
        raise UserError(f"{path}:{line}: no image")
    text = (record.get("box") or "").strip()
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise UserError(f"{path}:{line}: box {text!r} is not four numbers") from None
    if values and len(values) != 4:
        raise UserError(f"{path}:{line}: box {text!r} is not four numbers")
    given = (record.get("label") or "").strip()
    label = DROP if given.lower() == DROP else normalize_label(given)
    if label is None:
        raise UserError(f"{path}:{line}: unknown label {given!r} (expected mask, no_mask, incorrect or drop)")
    box = (values[0], values[1], values[2], values[3]) if values else None
    return Override(_key(image), box, label)


def read_overrides(path: Path) -> list[Override]:
    """The overrides of a CSV file; UserError on a missing file, a missing column or a bad row."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: overrides file not found")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in OVERRIDE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path}: needs the columns {', '.join(OVERRIDE_COLUMNS)} (missing: {', '.join(missing)})")
        return [_override(path, reader.line_num, record) for record in reader]


def _apply_to_scene(item: AnnotatedImage, wanted: list[Override], counts: Counter[str]) -> AnnotatedImage | None:
    labels = list(item.labels)
    keep = np.ones(len(labels), bool)
    for o in wanted:
        if o.box is None or not len(item.boxes):
            counts["unmatched"] += 1
            continue
        iou = box_iou(np.asarray(o.box, np.float64), np.asarray(item.boxes, np.float64)).ravel()
        j = int(iou.argmax())
        if iou[j] < MATCH_IOU:
            counts["unmatched"] += 1
        elif o.label == DROP:
            keep[j] = False
            counts["dropped"] += 1
        else:
            counts["relabelled" if labels[j] != o.label else "unchanged"] += 1
            labels[j] = o.label
    if not keep.any():
        return None
    return replace(item, boxes=item.boxes[keep], labels=[lab for lab, k in zip(labels, keep, strict=True) if k])


def apply_overrides(
    items: list[AnnotatedImage | LabeledImage], overrides: list[Override]
) -> tuple[list[AnnotatedImage | LabeledImage], Counter[str]]:
    """The items with their labels overridden (faces or class-folder images dropped where the label is `drop`)
    and the counts: relabelled, unchanged, dropped, unmatched (an override that names no face read)."""
    by_image: dict[str, list[Override]] = {}
    for o in overrides:
        by_image.setdefault(o.image, []).append(o)
    counts: Counter[str] = Counter()
    out: list[AnnotatedImage | LabeledImage] = []
    seen = set()
    for item in items:
        key = _key(item.path)
        wanted = by_image.get(key)
        if not wanted:
            out.append(item)
            continue
        seen.add(key)
        if isinstance(item, LabeledImage):
            last = wanted[-1].label
            if last == DROP:
                counts["dropped"] += 1
                continue
            counts["relabelled" if item.label != last else "unchanged"] += 1
            out.append(replace(item, label=last))
            continue
        changed = _apply_to_scene(item, wanted, counts)
        if changed is not None:
            out.append(changed)
    counts["unmatched"] += sum(len(v) for k, v in by_image.items() if k not in seen)
    return out, counts
