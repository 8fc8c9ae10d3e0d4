"""End-to-end build on a few real faces from the shared data: crops, manifest, split, report, CLI."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from maskwatch.classify.crop import face_crop
from maskwatch.data import build_dataset, read_source
from maskwatch.data.cli import app
from maskwatch.data.report import build_report
from maskwatch.data.split import assert_no_straddle
from maskwatch.detect.anchors import box_iou, greedy_match
from synthetic_images import scene, voc_xml, write_jpeg

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "maskedfacenet").is_dir() or not (DATA / "chandrikadeb7").is_dir(),
    reason=f"shared face data not found at {DATA}: real-face build tests skipped",
)


def test_greedy_match_best_first():
    annotated = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [100, 100, 110, 110]], np.float32)
    detected = np.array([[21, 0, 31, 10], [1, 0, 11, 10], [0, 0, 9, 10]], np.float32)
    assert greedy_match(annotated, detected, 0.4).tolist() == [2, 0, -1]
    assert box_iou(annotated[:1], annotated[:1])[0, 0] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def small_sources(tmp_path_factory) -> Path:
    """Copies (in a temp folder, not the repo) of 6 MaskedFace-Net VOC images and 12 chandrikadeb7 class-folder images,
    plus an exact duplicate, a synthetic image without a face, a corrupt file and a tiny image."""
    root = tmp_path_factory.mktemp("sources")
    voc = root / "mfn"
    for xml in sorted((DATA / "maskedfacenet" / "annotations").glob("*.xml"))[:6]:
        shutil.copy(xml, _mkdir(voc / "annotations") / xml.name)
        shutil.copy(
            DATA / "maskedfacenet" / "images" / (xml.stem + ".jpg"), _mkdir(voc / "images") / (xml.stem + ".jpg")
        )
    folders = root / "chd"
    for cls in ("with_mask", "without_mask"):
        for img in sorted((DATA / "chandrikadeb7" / cls).glob("*.jpg"))[:6]:
            _mkdir(folders / cls)
            shutil.copy(img, folders / cls / img.name)
    first = min((folders / "without_mask").glob("*.jpg"))
    shutil.copy(first, folders / "without_mask" / "copy_of_first.jpg")
    write_jpeg(folders / "with_mask" / "no_face.jpg", scene(160, 160, 99))
    (folders / "with_mask" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    write_jpeg(folders / "without_mask" / "tiny.jpg", scene(40, 28, 98))
    return root


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@needs_data
def test_build_on_real_faces(small_sources, tmp_path):
    out = tmp_path / "ds"
    summary = build_dataset([small_sources], out, val_fraction=0.3, seed=0, workers=1, progress=False)
    rows = list(csv.DictReader((out / "manifest.csv").read_text().splitlines()))
    assert list(rows[0]) == ["path", "label", "source", "split", "group", "image", "box", "face_px", "brightness"]
    assert len(rows) == summary.crops >= 15
    cleaning = json.loads((out / "cleaning.json").read_text())
    assert cleaning["chd"]["exact_duplicate"] == 1
    assert cleaning["chd"]["no_face"] >= 1
    assert cleaning["chd"]["corrupt_image"] == 1 and cleaning["chd"]["tiny_image"] == 1
    assert {r["source"] for r in rows} == {"mfn", "chd"}
    assert {r["split"] for r in rows} == {"train", "val"}
    assert_no_straddle([r["group"] for r in rows], [r["split"] for r in rows])
    mfn = read_source(small_sources / "mfn")
    annotated = {str(i.path): i for i in mfn.items}
    for row in rows:
        crop = cv2.imread(str(out / row["path"]))
        assert crop.shape == (112, 112, 3)
        image = cv2.imread(row["image"])
        box = np.array(row["box"].split(), np.float32)
        # The stored crop is face_crop of the source image at the stored box (up to JPEG loss).
        assert np.abs(face_crop(image, box).astype(int) - crop.astype(int)).mean() < 4
        assert float(row["face_px"]) == pytest.approx(max(box[2] - box[0], box[3] - box[1]), abs=0.2)
        assert abs(float(row["brightness"]) - cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).mean()) < 3
        if row["source"] == "mfn":
            # Detector box where one matches the annotation, so IoU with the annotated box is >= 0.4.
            assert box_iou(box, annotated[row["image"]].boxes).max() >= 0.4
    report = build_report(out)
    assert report["crops"] == len(rows)
    assert sum(report["per_split"]["val"].values()) + sum(report["per_split"]["train"].values()) == len(rows)
    assert (out / "report" / "report.json").is_file() and (out / "report" / "face_px_hist.png").is_file()


@needs_data
def test_masked_and_unmasked_version_share_a_group(tmp_path):
    """A face with a pasted mask and its unmasked original (upper face unchanged) land in one group."""
    src = DATA / "chandrikadeb7" / "without_mask"
    face = cv2.imread(str(sorted(src.glob("*.jpg"))[3]))
    masked = face.copy()
    h, w = masked.shape[:2]
    cv2.ellipse(masked, (w // 2, int(h * 0.75)), (int(w * 0.3), int(h * 0.18)), 0, 0, 360, (235, 235, 235), -1)
    write_jpeg(tmp_path / "src" / "without_mask" / "a.jpg", face)
    write_jpeg(tmp_path / "src" / "with_mask" / "b.jpg", masked)
    for k, other in enumerate(sorted(src.glob("*.jpg"))[10:14]):
        shutil.copy(other, _mkdir(tmp_path / "src" / "without_mask") / f"o{k}.jpg")
    build_dataset([tmp_path / "src"], tmp_path / "ds", workers=1, progress=False)
    rows = {
        Path(r["image"]).name: r for r in csv.DictReader((tmp_path / "ds" / "manifest.csv").read_text().splitlines())
    }
    assert rows["a.jpg"]["group"] == rows["b.jpg"]["group"]
    assert len({r["group"] for r in rows.values()}) >= 4


def test_cli_bad_input_is_user_error(tmp_path):
    result = CliRunner().invoke(app, ["build", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "no such folder" in str(result.exception)
    (tmp_path / "junk" / "x").mkdir(parents=True)
    result = CliRunner().invoke(app, ["build", str(tmp_path / "junk"), "--out", str(tmp_path / "o")])
    assert "no recognisable layout" in str(result.exception)
    result = CliRunner().invoke(app, ["report", str(tmp_path / "junk")])
    assert "no manifest.csv" in str(result.exception)
    # Annotations that yield no usable face: the error says why, per source and reason.
    voc = tmp_path / "voc"
    write_jpeg(voc / "images" / "a.jpg", scene(200, 150, 0))
    (voc / "annotations").mkdir()
    (voc / "annotations" / "a.xml").write_text(
        voc_xml("a.jpg", 200, 150, [("dog", (10, 10, 80, 80)), ("with_mask", (5, 5, 9, 9))])
    )
    result = CliRunner().invoke(app, ["build", str(voc), "--out", str(tmp_path / "o")])
    assert "no face crops could be made" in str(result.exception)
    assert "unknown_label 1" in str(result.exception) and "tiny_box 1" in str(result.exception)


def test_cli_build_and_report_voc(tmp_path):
    """CLI on a synthetic VOC source: no faces for the detector, so every crop comes from the annotated box."""
    src = tmp_path / "syn"
    for k in range(8):
        write_jpeg(src / "images" / f"{k}.jpg", scene(240, 180, 100 + k))
        (src / "annotations").mkdir(parents=True, exist_ok=True)
        (src / "annotations" / f"{k}.xml").write_text(
            voc_xml(
                f"{k}.jpg",
                240,
                180,
                [("with_mask" if k % 2 else "without_mask", (20, 20, 100, 110)), ("with_mask", (232, 172, 300, 260))],
            )
        )
    result = CliRunner().invoke(
        app, ["build", str(src), "--out", str(tmp_path / "ds"), "--val-fraction", "0.25", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "ds" / "manifest.csv").read_text().splitlines()))
    assert len(rows) == 8  # the second box of each image is 8 px after clipping to the image: dropped
    assert json.loads((tmp_path / "ds" / "cleaning.json").read_text())["syn"]["tiny_box"] == 8
    assert sum(r["split"] == "val" for r in rows) == 2
    result = CliRunner().invoke(app, ["report", str(tmp_path / "ds")])
    assert result.exit_code == 0, result.output
    assert "per source" in result.output


def test_report_counts_faces_labelled_twice_and_lists_their_conflicts(tmp_path):
    """The same face in two photos of one group is a pair; two labels for it are a conflict. Faces in one photo
    or in different groups are never paired."""
    ds = tmp_path / "ds"
    crops = {"a": scene(112, 112, 1), "b": scene(112, 112, 2), "c": scene(112, 112, 3)}
    rows = [  # name, crop, label, group, image
        ("a1", "a", "mask", "g1", "p1.jpg"),
        ("a2", "a", "no_mask", "g1", "p2.jpg"),  # one face, two labels
        ("b1", "b", "mask", "g1", "p1.jpg"),
        ("b2", "b", "mask", "g1", "p2.jpg"),  # one face, one label
        ("c1", "c", "mask", "g2", "p3.jpg"),
        ("c2", "c", "incorrect", "g2", "p3.jpg"),  # same photo
        ("c3", "c", "no_mask", "g3", "p4.jpg"),  # another group
    ]
    with _mkdir(ds).joinpath("manifest.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "source", "split", "group", "image", "box", "face_px", "brightness"])
        for name, crop, label, group, image in rows:
            write_jpeg(ds / "crops" / f"{name}.jpg", crops[crop])
            writer.writerow([f"crops/{name}.jpg", label, "web", "train", group, image, "0 0 10 10", "10", "100"])
    report = build_report(ds, plots=False)
    assert report["labelled_twice"] == {"all": [1, 2], "web+web": [1, 2]}
    conflicts = list(csv.DictReader((ds / "report" / "label_conflicts.csv").read_text().splitlines()))
    assert [(c["crop_a"], c["label_a"], c["crop_b"], c["label_b"]) for c in conflicts] == [
        ("crops/a1.jpg", "mask", "crops/a2.jpg", "no_mask")
    ]


@needs_data
def test_padded_detection_maps_back_to_image_coordinates():
    from maskwatch.detect import RetinaFaceDetector
    from maskwatch.detect.single_face import most_confident_face

    detector = RetinaFaceDetector(input_size=320, min_score=0.3, threads=1)
    image = cv2.imread(str(sorted((DATA / "chandrikadeb7" / "without_mask").glob("*.jpg"))[5]))
    image = cv2.copyMakeBorder(
        image, 80, 80, 80, 80, cv2.BORDER_CONSTANT, value=(128, 128, 128)
    )  # room around the face
    padded, attempt = most_confident_face(image, [(0.5, detector)])
    unpadded, _ = most_confident_face(image, [(0.0, detector)])
    assert attempt == 0
    side = max(unpadded[2] - unpadded[0], unpadded[3] - unpadded[1])
    assert np.abs(padded - unpadded).max() < 0.15 * side
    assert box_iou(padded, unpadded)[0, 0] > 0.7
    # A later attempt is used only when the earlier ones find nothing.
    blank = np.full((200, 200, 3), 90, np.uint8)
    assert most_confident_face(blank, [(0.5, detector), (0.0, detector)]) is None
