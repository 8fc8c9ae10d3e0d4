"""manifest.csv read once, as typed rows, for training, evaluation, calibration and the report."""

from __future__ import annotations

import csv
import math
from dataclasses import fields

import pytest

from maskwatch.core.errors import UserError
from maskwatch.data.manifest import MANIFEST_COLUMNS, ManifestRow, read_manifest

ROWS = [
    {
        "path": "crops/mask/a-1.jpg",
        "label": "mask",
        "source": "andrewmvd",
        "split": "train",
        "group": "g000001",
        "image": "/data/andrewmvd/images/1.png",
        "box": "10.0 20.0 50.0 70.0",
        "face_px": "50.0",
        "brightness": "118.5",
    },
    {
        "path": "crops/no_mask/b-2.jpg",
        "label": "no_mask",
        "source": "jolignier",
        "split": "val",
        "group": "g000002",
        "image": "/data/jolignier/images/2.jpg",
        "box": "1.0 2.0 3.0 4.0",
        "face_px": "",
        "brightness": "",
    },
]


def write(path, rows, columns=MANIFEST_COLUMNS):
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_rows_come_back_typed_in_file_order(tmp_path):
    write(tmp_path / "manifest.csv", ROWS)
    first, second = read_manifest(tmp_path)
    assert first == ManifestRow(**{**ROWS[0], "face_px": 50.0, "brightness": 118.5})
    assert second.label == "no_mask" and math.isnan(second.face_px) and math.isnan(second.brightness)
    assert [r.path for r in read_manifest(tmp_path / "manifest.csv")] == [first.path, second.path]  # folder or file
    assert [r.path for r in read_manifest(tmp_path, split="val")] == [second.path]
    assert tuple(f.name for f in fields(ManifestRow)) == MANIFEST_COLUMNS  # what `data build` writes


def test_a_manifest_with_only_the_columns_its_use_needs(tmp_path):
    path = write(tmp_path / "val.csv", ROWS, ("image", "split"))
    rows = read_manifest(path, ("image", "split"))
    assert [(r.image, r.split, r.path) for r in rows] == [
        (ROWS[0]["image"], "train", ""),
        (ROWS[1]["image"], "val", ""),
    ]
    with pytest.raises(UserError, match=r"val.csv: needs columns path, label, source, split \(missing: path, label"):
        read_manifest(path)


def test_label_aliases_are_read_as_the_classes(tmp_path):
    write(tmp_path / "manifest.csv", [{**ROWS[0], "label": "with_mask"}])
    assert read_manifest(tmp_path)[0].label == "mask"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"label": "helmet"}, r"manifest.csv:2: unknown label 'helmet' \(expected mask, no_mask, incorrect\)"),
        ({"face_px": "big"}, r"manifest.csv:2: face_px 'big' is not a number"),
    ],
)
def test_bad_rows_are_one_line_errors_with_their_line(tmp_path, change, message):
    write(tmp_path / "manifest.csv", [{**ROWS[0], **change}])
    with pytest.raises(UserError, match=message):
        read_manifest(tmp_path)


def test_missing_manifest_or_split(tmp_path):
    with pytest.raises(UserError, match=r"no manifest.csv \(build one with `maskwatch data build`\)"):
        read_manifest(tmp_path)
    with pytest.raises(UserError, match=r"other\.csv: manifest not found"):
        read_manifest(tmp_path / "other.csv")
    write(tmp_path / "manifest.csv", ROWS[:1])
    with pytest.raises(UserError, match="no rows with split == val"):
        read_manifest(tmp_path, split="val")
