"""Label audit (cleanlab on out-of-fold probabilities) and the overrides `data build` applies."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from maskwatch.core.errors import UserError

pytest.importorskip("cleanlab", reason="data audit needs cleanlab: pip install 'maskwatch[audit]'")
from maskwatch.data.audit import audit_dataset, out_of_fold_probs, rank_label_issues
from maskwatch.data.cli import app
from maskwatch.data.overrides import Override, apply_overrides, read_overrides
from maskwatch.data.records import AnnotatedImage, LabeledImage
from maskwatch.data.voc_folder import read_voc_folder
from synthetic_images import scene, voc_xml, write_jpeg

HEADER = "path,label,source,split,group,image,box,face_px,brightness\n"


def test_flipped_labels_are_found_in_separable_features():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 100)
    features = rng.normal(size=(300, 8)) + np.eye(3, 8)[labels] * 4
    flipped = rng.choice(300, 12, replace=False)
    given = labels.copy()
    given[flipped] = (labels[flipped] + 1) % 3
    probs = out_of_fold_probs(features, given, [f"g{k}" for k in range(300)])
    assert probs.shape == (300, 3) and np.allclose(probs.sum(axis=1), 1)
    issues = rank_label_issues(given, probs)
    assert set(flipped) <= set(issues[:15].tolist())
    # ranked by self-confidence: the given label's out-of-fold probability rises down the list
    confidence = probs[issues, given[issues]]
    assert np.all(np.diff(confidence) >= -1e-12)


def _crop(label: str, rng: np.random.Generator) -> np.ndarray:
    """A 112 px drawn face: skin, eyes; a white mask over the lower face (mask) or down at the chin (incorrect)."""
    crop = np.full((112, 112, 3), rng.integers(60, 200, 3), np.uint8)
    skin = (int(rng.integers(90, 150)), int(rng.integers(140, 190)), int(rng.integers(190, 235)))
    cv2.ellipse(crop, (56, 58), (34, 44), 0, 0, 360, skin, -1)
    for x in (42, 70):
        cv2.circle(crop, (x, 46), 4, (40, 30, 30), -1)
    cv2.line(crop, (46, 84), (66, 84), (60, 60, 150), 3)
    mask_colour = tuple(int(v) for v in rng.integers(200, 255, 3))
    if label == "mask":
        cv2.ellipse(crop, (56, 80), (33, 22), 0, 0, 360, mask_colour, -1)
    elif label == "incorrect":
        cv2.ellipse(crop, (56, 100), (30, 10), 0, 0, 360, mask_colour, -1)
    noise = rng.normal(0, 6, crop.shape)
    return np.clip(crop + noise, 0, 255).astype(np.uint8)


def _synthetic_dataset(root: Path, per_class: int, flips: dict[int, str]) -> list[str]:
    """A built-dataset folder of drawn faces; row k's given label is flips[k] where listed. The rows' paths."""
    rng = np.random.default_rng(1)
    lines, paths = [HEADER], []
    for k in range(3 * per_class):
        truth = ("mask", "no_mask", "incorrect")[k % 3]
        path = f"crops/{truth}/syn-{k}.jpg"
        write_jpeg(root / path, _crop(truth, rng))
        lines.append(f"{path},{flips.get(k, truth)},syn,train,g{k},/x/{k}.jpg,0 0 80 80,80,120\n")
        paths.append(path)
    (root / "manifest.csv").write_text("".join(lines))
    return paths


def test_audit_finds_flipped_labels_of_drawn_faces(tmp_path):
    flips = {3: "incorrect", 10: "mask", 20: "no_mask", 31: "mask"}  # rows 3 (mask), 10 (no_mask), 20, 31
    paths = _synthetic_dataset(tmp_path / "ds", 30, flips)
    result = audit_dataset(tmp_path / "ds", folds=5)
    found = [s.row.path for s in result.suspects[:8]]
    assert sum(paths[k] in found for k in flips) >= 3, found
    top = result.suspects[0]
    assert top.given != top.suggested and 0 <= top.quality < 0.5
    assert result.n_crops == 90 and result.per_source["syn"]["crops"] == 90

    out = tmp_path / "audit"
    ran = CliRunner().invoke(app, ["audit", str(tmp_path / "ds"), "-o", str(out), "--top", "8"])
    assert ran.exit_code == 0, ran.output
    assert "likely label errors among 90 crops" in ran.output
    rows = list(csv.DictReader((out / "suspects.csv").open()))
    assert rows and rows[0]["given"] != rows[0]["suggested"] and float(rows[0]["quality"]) < 0.5
    assert cv2.imread(str(out / "suspects.png")) is not None
    draft = read_overrides(out / "overrides_draft.csv")
    assert 1 <= len(draft) <= 8 and all(o.box == (0, 0, 80, 80) for o in draft)


def test_an_averaged_classifier_gives_every_networks_features(tmp_path):
    """A classifier file that averages networks (`train --members`) has one last linear layer per network."""
    from maskwatch.data.audit import crop_features
    from maskwatch.data.manifest import read_manifest
    from maskwatch.train.export import export_onnx
    from maskwatch.train.model import MaskNet

    nets = [MaskNet().eval() for _ in range(2)]
    export_onnx(nets[:1], tmp_path / "one.onnx", 64)
    export_onnx(nets, tmp_path / "two.onnx", 64)
    _synthetic_dataset(tmp_path / "ds", 2, {})
    rows = read_manifest(tmp_path / "ds")
    one = crop_features(tmp_path / "ds", rows, tmp_path / "one.onnx")
    two = crop_features(tmp_path / "ds", rows, tmp_path / "two.onnx")
    assert one.shape == (6, 256) and two.shape == (6, 512)
    assert np.allclose(two[:, :256], one, atol=1e-4)


def test_audit_bad_input_is_user_error(tmp_path):
    ran = CliRunner().invoke(app, ["audit", str(tmp_path / "none")])
    assert ran.exit_code != 0 and "no manifest.csv" in str(ran.exception)
    ran = CliRunner().invoke(app, ["audit", str(tmp_path), "--split", "test"])
    assert ran.exit_code != 0 and "--split must be train or val" in str(ran.exception)


def test_read_overrides_checks_every_row(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("image,box,label,note\n/a/b.jpg,1 2 30 40,with_mask,chin\n/a/c.jpg,,DROP,\n")
    first, second = read_overrides(path)
    assert first == Override(str(Path("/a/b.jpg").resolve()), (1, 2, 30, 40), "mask")
    assert second.box is None and second.label == "drop"
    for text, message in [
        ("image,label\n", "needs the columns"),
        ("image,box,label\n/a.jpg,1 2 3,mask\n", "not four numbers"),
        ("image,box,label\n/a.jpg,,chin\n", "unknown label 'chin'"),
    ]:
        path.write_text(text)
        with pytest.raises(UserError, match=message):
            read_overrides(path)
    with pytest.raises(UserError, match="not found"):
        read_overrides(tmp_path / "missing.csv")


def test_apply_overrides_relabels_and_drops_without_touching_the_items():
    boxes = np.array([[10, 10, 50, 50], [100, 100, 150, 150]], np.float32)
    scene_item = AnnotatedImage(Path("/d/s.jpg"), 200, 200, boxes, ["incorrect", "mask"], "street")
    folder_items = [LabeledImage(Path("/d/a.jpg"), "no_mask", "web"), LabeledImage(Path("/d/b.jpg"), "mask", "web")]
    overrides = [
        Override("/d/s.jpg", (12, 11, 52, 49), "no_mask"),  # a detector's box near the annotated one
        Override("/d/s.jpg", (101, 99, 149, 151), "drop"),
        Override("/d/s.jpg", (300, 300, 320, 320), "mask"),  # no face there
        Override("/d/a.jpg", None, "incorrect"),
        Override("/d/b.jpg", None, "drop"),
        Override("/d/elsewhere.jpg", None, "mask"),
    ]
    items, counts = apply_overrides([scene_item, *folder_items], overrides)
    assert counts == {"relabelled": 2, "dropped": 2, "unmatched": 2}
    assert len(items) == 2
    assert items[0].labels == ["no_mask"] and np.array_equal(items[0].boxes, boxes[:1])
    assert items[1].label == "incorrect"
    assert scene_item.labels == ["incorrect", "mask"] and folder_items[0].label == "no_mask"  # inputs unchanged


def test_build_applies_overrides_file(tmp_path):
    """`data build --overrides`: one face relabelled, one dropped; the source annotations stay as they were."""
    src = tmp_path / "syn"
    for k in range(6):
        write_jpeg(src / "images" / f"{k}.jpg", scene(240, 180, 100 + k))
        (src / "annotations").mkdir(parents=True, exist_ok=True)
        objects = [("mask_weared_incorrect", (20, 20, 100, 110)), ("with_mask", (130, 30, 210, 120))]
        (src / "annotations" / f"{k}.xml").write_text(voc_xml(f"{k}.jpg", 240, 180, objects))
    before = (src / "annotations" / "0.xml").read_text()
    overrides = tmp_path / "overrides.csv"
    image = src / "images" / "0.jpg"
    overrides.write_text(f"image,box,label\n{image},20 20 100 110,no_mask\n{image},130 30 210 120,drop\n")
    ran = CliRunner().invoke(
        app, ["build", str(src), "--out", str(tmp_path / "ds"), "--workers", "1", "--overrides", str(overrides)]
    )
    assert ran.exit_code == 0, ran.output
    assert "relabelled 1" in ran.output and "dropped 1" in ran.output
    rows = list(csv.DictReader((tmp_path / "ds" / "manifest.csv").open()))
    assert len(rows) == 11
    of_first = [r for r in rows if Path(r["image"]).name == "0.jpg"]
    assert [r["label"] for r in of_first] == ["no_mask"]
    assert json.loads((tmp_path / "ds" / "build.json").read_text())["overrides"]["relabelled"] == 1
    assert (src / "annotations" / "0.xml").read_text() == before
    assert read_voc_folder(src)[0].labels == ["incorrect", "mask"]
