"""Crops given as they are: the cut by hand, the two views GivenCropClassifier averages, and the real classifier
through `evaluate boxes`, checked against `maskwatch classify` on the same crops saved as files."""

import csv
import json
import os

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from maskwatch.classify import MaskClassifier
from maskwatch.classify.crop import face_crop, square_pad
from maskwatch.classify.given import GivenCropClassifier
from maskwatch.core.errors import UserError
from maskwatch.evaluate.boxes import cut_box
from maskwatch.evaluate.cli import app
from maskwatch.evaluate.voc import read_voc_folder
from maskwatch.pipeline.files import classify_crops


def test_cut_box_by_hand():
    image = np.arange(80 * 100, dtype=np.int32).reshape(80, 100)
    np.testing.assert_array_equal(cut_box(image, (10, 20, 30, 60)), image[20:60, 10:30])
    # margin 0.5 of 20 x 40 = 10 px left/right, 20 px up/down; the top stops at the image
    np.testing.assert_array_equal(cut_box(image, (10, 10, 30, 50), margin=0.5), image[0:70, 0:40])
    with pytest.raises(UserError, match="outside"):
        cut_box(image, (120, 10, 140, 30))


def test_square_pad_centres_and_replicates_edges():
    image = np.zeros((40, 20, 3), np.uint8)
    image[:, 0], image[:, -1], image[:, 5] = 10, 200, 77
    square = square_pad(image)
    assert square.shape == (40, 40, 3)
    np.testing.assert_array_equal(square[:, 10:30], image)
    assert (square[:, :10] == 10).all() and (square[:, 30:] == 200).all()
    np.testing.assert_array_equal(square_pad(square), square)


def test_cli_boxes_scores_what_classify_sees(tmp_path, shared_data, classifier_model):
    voc = tmp_path / "street"
    (voc / "images").mkdir(parents=True)
    (voc / "annotations").mkdir()
    anns = read_voc_folder(shared_data / "andrewmvd")[:5]
    for ann in anns:
        os.symlink(ann.path, voc / "images" / ann.name)
        xml = shared_data / "andrewmvd" / "annotations" / (os.path.splitext(ann.name)[0] + ".xml")
        os.symlink(xml, voc / "annotations" / xml.name)
    result = CliRunner().invoke(
        app, ["boxes", str(voc), "--model", str(classifier_model), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    faces = [(ann, k) for ann in anns for k in np.flatnonzero(~ann.difficult)]
    assert metrics["n_crops"] == len(faces) and metrics["per_source"]["street"]["n"] == len(faces)
    assert sum(v["n"] for v in metrics["per_face_px"].values()) == len(faces)
    assert sum(v["n"] for v in metrics["per_brightness"].values()) == len(faces)

    # The same faces saved losslessly and given to `maskwatch classify`: the same right and wrong answers.
    crop_dir = tmp_path / "crops"
    crop_dir.mkdir()
    for i, (ann, k) in enumerate(faces):
        cv2.imwrite(str(crop_dir / f"{i:03d}.png"), cut_box(cv2.imread(ann.path), ann.boxes[k]))
    classified = classify_crops([crop_dir], GivenCropClassifier(MaskClassifier(classifier_model))).results
    wrong = [i for i, (ann, k) in enumerate(faces) if classified[f"{i:03d}.png"]["label"] != ann.labels[k]]
    assert metrics["accuracy"] == pytest.approx(1 - len(wrong) / len(faces))
    mistakes = tmp_path / "out" / "mistakes.csv"
    if wrong:
        rows = list(csv.DictReader(mistakes.open()))
        assert len(rows) == len(wrong) and "crop" not in rows[0]
        assert cv2.imread(str(tmp_path / "out" / "mistakes.jpg")) is not None
    else:
        assert not mistakes.exists()


def test_cli_boxes_bad_input_is_a_user_error(tmp_path):
    res = CliRunner().invoke(app, ["boxes", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, UserError) and "no such folder" in str(res.exception)
    res = CliRunner().invoke(app, ["boxes", str(tmp_path), "--margin", "-0.1", "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, UserError) and "margin" in str(res.exception)


def test_given_crop_averages_the_crop_as_it_is_and_re_cut_around_its_face(shared_data, classifier_model):
    from maskwatch.detect.single_face import attempt_detectors, most_confident_face

    ann = read_voc_folder(shared_data / "andrewmvd")[0]
    image = cv2.imread(ann.path)
    k = int(np.argmax((ann.boxes[:, 2] - ann.boxes[:, 0]) * (~ann.difficult)))
    crop = cut_box(image, ann.boxes[k], margin=0.3)
    blank = np.full((60, 40, 3), 90, np.uint8)  # no face in it: scored as it is only
    plain = MaskClassifier(classifier_model)
    box, _ = most_confident_face(crop, attempt_detectors())
    want = (plain.predict([square_pad(crop)])[0] + plain.predict([face_crop(crop, box)])[0]) / 2
    got = GivenCropClassifier(plain).predict([crop, blank])
    np.testing.assert_allclose(got[0], want, atol=1e-6)
    np.testing.assert_allclose(got[1], plain.predict([square_pad(blank)])[0], atol=1e-6)
    np.testing.assert_allclose(
        GivenCropClassifier(plain, find_face=False).predict([crop])[0], plain.predict([square_pad(crop)])[0], atol=1e-6
    )


def test_cli_folders_scores_what_classify_sees(tmp_path, shared_data, classifier_model):
    folder = tmp_path / "mine"
    images = {}
    for sub in ("with_mask", "without_mask"):
        (folder / sub).mkdir(parents=True)
        for src in sorted((shared_data / "chandrikadeb7" / sub).iterdir())[:4]:
            os.symlink(src, folder / sub / src.name)
            images[src.name] = "mask" if sub == "with_mask" else "no_mask"
    (folder / "with_mask" / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "unsure").mkdir()  # not a label: left out
    os.symlink(src, folder / "unsure" / src.name)
    result = CliRunner().invoke(
        app, ["folders", str(folder), "--model", str(classifier_model), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["n_crops"] == 8 and metrics["per_source"]["mine"]["n"] == 8
    assert metrics["notes"] == ["1 image(s) could not be read and were left out"]
    classified = classify_crops(
        [folder / "with_mask", folder / "without_mask"], GivenCropClassifier(MaskClassifier(classifier_model))
    ).results
    right = sum(classified[name]["label"] == label for name, label in images.items())
    assert metrics["accuracy"] == pytest.approx(right / 8)

    manifest = tmp_path / "manifest.csv"
    val = sorted(images)[:3]
    subs = {"mask": "with_mask", "no_mask": "without_mask"}
    manifest.write_text(
        "image,split\n"
        + "".join(
            f"{folder}/{subs[label]}/{name},{'val' if name in val else 'train'}\n" for name, label in images.items()
        )
    )
    result = CliRunner().invoke(
        app,
        [
            "folders",
            str(folder),
            "--manifest",
            str(manifest),
            "--no-find-face",
            "--model",
            str(classifier_model),
            "--out",
            str(tmp_path / "out2"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out2" / "metrics.json").read_text())["n_crops"] == 3


def test_cli_folders_bad_input_is_a_user_error(tmp_path):
    res = CliRunner().invoke(app, ["folders", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, UserError) and "no such folder" in str(res.exception)
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "a.png"), np.zeros((40, 40, 3), np.uint8))
    res = CliRunner().invoke(app, ["folders", str(tmp_path), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, UserError) and "no labelled images" in str(res.exception)
