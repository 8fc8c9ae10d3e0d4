"""Bias audit: what places a face in each subgroup, the figures per bin, and the real pipeline on real photos."""

import json
import math

import cv2
import numpy as np
import pytest

from maskwatch.data.voc_folder import ImageAnnotation
from maskwatch.evaluate.metrics import ImagePredictions, compliance
from maskwatch.evaluate.subgroup_faces import box_in_crop, crop_outcomes, image_outcomes, pose_detector
from maskwatch.evaluate.subgroups import (
    FaceOutcome,
    brightness_bin,
    face_luma,
    face_size_bin,
    mask_colour,
    pose_bin,
    subgroup_report,
    yaw_ratio,
)

FRONTAL = [[40, 50], [80, 50], [60, 70], [45, 90], [75, 90]]


def test_yaw_from_landmarks_is_roll_invariant():
    assert yaw_ratio(FRONTAL) == pytest.approx(0.0)
    assert pose_bin(yaw_ratio(FRONTAL)) == "frontal"
    # nose 8 px off the eyes' midpoint over 40 px of eyes: 0.2, three-quarter; 20 px: 0.5, profile
    turned = [[40, 50], [80, 50], [68, 70], [45, 90], [75, 90]]
    assert yaw_ratio(turned) == pytest.approx(0.2)
    assert pose_bin(yaw_ratio(turned)) == "three_quarter"
    assert pose_bin(yaw_ratio([[40, 50], [80, 50], [80, 70], [45, 90], [75, 90]])) == "profile"
    # the same turned face rolled by 30 degrees keeps its yaw
    angle = math.radians(30)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    rolled = (np.array(turned, float) - 60) @ rotation.T + 60
    assert yaw_ratio(rolled) == pytest.approx(0.2)
    assert math.isnan(yaw_ratio(None)) and pose_bin(yaw_ratio(None)) == "unknown"
    assert math.isnan(yaw_ratio([[1, 1], [1, 1], [1, 1], [1, 1], [1, 1]]))


def _face(lower_bgr: tuple[int, int, int] | None, pattern: bool = False) -> np.ndarray:
    """A 100 x 100 skin-toned face box at (50, 50) in a grey photo, its lower face painted."""
    image = np.full((200, 200, 3), 128, np.uint8)
    image[50:150, 50:150] = (140, 170, 210)
    if pattern:
        for k, colour in enumerate([(0, 0, 255), (0, 200, 0), (255, 0, 0), (0, 255, 255)]):
            image[100:150, 50 + 25 * k : 75 + 25 * k] = colour
    elif lower_bgr is not None:
        image[100:150, 50:150] = lower_bgr
    return image


@pytest.mark.parametrize(
    ("colour", "expected"),
    [
        ((245, 245, 245), "white"),
        ((230, 200, 160), "light_blue"),  # a surgical mask's pale blue (BGR)
        ((30, 30, 30), "dark"),
        ((180, 150, 255), "other"),  # pink
        (None, "other"),  # the skin itself: an unmasked lower face is no mask colour (and is never asked for)
    ],
)
def test_mask_colour_of_painted_lower_face(colour, expected):
    assert mask_colour(_face(colour), [50, 50, 150, 150]) == expected


def test_mask_colour_of_many_colours_is_patterned():
    assert mask_colour(_face(None, pattern=True), [50, 50, 150, 150]) == "patterned"


def test_luma_size_and_brightness_bins():
    image = np.zeros((100, 100, 3), np.uint8)
    image[10:30, 10:30] = 200
    assert face_luma(image, [10, 10, 30, 30]) == pytest.approx(200)
    assert math.isnan(face_luma(image, [200, 200, 220, 220]))  # outside the image
    assert [brightness_bin(v) for v in (10, 70, 109.9, 110, 159, 160, 255)] == [
        "dark",
        "dim",
        "dim",
        "normal",
        "normal",
        "bright",
        "bright",
    ]
    assert [face_size_bin(v) for v in (8, 16, 31, 32, 64, 127, 128, 900)] == [
        "<16",
        "16-32",
        "16-32",
        "32-64",
        "64-128",
        "64-128",
        ">=128",
        ">=128",
    ]
    assert face_size_bin(float("nan")) == "unknown"


def _scene() -> tuple[np.ndarray, ImageAnnotation, list[dict]]:
    """Four faces: a found masked face, a found unmasked face called mask, a missed unmasked face, a difficult
    face; plus one detection of nothing."""
    image = np.full((400, 400, 3), 40, np.uint8)
    image[200:300, 10:110] = 220
    boxes = [[10, 10, 110, 110], [150, 10, 170, 30], [10, 200, 110, 300], [300, 300, 340, 340]]
    ann = ImageAnnotation("a.jpg", boxes, ["mask", "no_mask", "incorrect", "mask"], [False, False, False, True])
    landmarks = [[40, 50], [80, 50], [60, 70], [45, 90], [75, 90]]
    preds = [
        {"box": [12, 12, 108, 108], "label": "mask", "score": 0.9, "landmarks": landmarks},
        {"box": [150, 10, 170, 30], "label": "with_mask", "score": 0.7},
        {"box": [10, 200, 110, 300], "label": "no_mask", "score": 0.2, "landmarks": landmarks},  # below 0.5
        {"box": [250, 100, 290, 140], "label": "no_mask", "score": 0.8},
    ]
    return image, ann, preds


def test_image_outcomes_agree_with_the_compliance_view():
    image, ann, preds = _scene()
    outcomes = image_outcomes(image, ann, preds, threshold=0.5)
    assert [(f.label, f.said, f.detected) for f in outcomes] == [
        ("mask", "mask", True),
        ("no_mask", "mask", True),
        ("incorrect", None, False),
    ]
    # the face found below the operating score still has its pose; the one without landmarks has none
    assert [pose_bin(f.yaw) for f in outcomes] == ["frontal", "unknown", "frontal"]
    assert [f.face_px for f in outcomes] == [100, 20, 100]
    assert outcomes[2].brightness == pytest.approx(220) and outcomes[0].brightness < 70
    assert outcomes[0].mask_colour is not None and outcomes[1].mask_colour is None

    report = subgroup_report(outcomes)
    scored = ImagePredictions(
        [p["box"] for p in preds],
        [{"with_mask": "mask"}.get(p["label"], p["label"]) for p in preds],
        [0.9, 0.7, 0.2, 0.8],
    )
    rates = compliance([ann], {"a.jpg": scored}, 0.5)
    overall = report["subgroup_overall"]
    assert overall["faces"] == 3
    assert overall["unmasked_recall"] == rates.unmasked_recall == 0.0
    assert overall["mask_false_alarm"] == rates.masked_false_alarm_rate == 0.0
    assert overall["face_recall"] == pytest.approx(2 / 3)
    for group in ("face_size", "brightness", "pose"):
        assert sum(b["faces"] for b in report["subgroups"][group]) == 3, group
    assert sum(b["faces"] for b in report["subgroups"]["mask_colour"]) == 1


def test_bins_figures_and_worst_bin():
    outcomes = [FaceOutcome("no_mask", "no_mask", True, 100, 120, 0.0) for _ in range(40)]
    outcomes += [FaceOutcome("no_mask", None if k < 20 else "no_mask", k >= 20, 10, 120, math.nan) for k in range(40)]
    outcomes += [FaceOutcome("mask", "no_mask" if k < 3 else "mask", True, 100, 30, 0.5, "white") for k in range(30)]
    report = subgroup_report(outcomes)
    size = {b["bin"]: b for b in report["subgroups"]["face_size"]}
    assert size["<16"]["faces"] == 40 and size["<16"]["face_recall"] == 0.5 and size["<16"]["unmasked_recall"] == 0.5
    assert size["64-128"]["unmasked_recall"] == 1.0 and size["64-128"]["mask_false_alarm"] == pytest.approx(0.1)
    worst = {w["figure"]: w for w in report["subgroup_worst"]}
    assert (worst["face_recall"]["subgroup"], worst["face_recall"]["bin"]) in {
        ("face_size", "<16"),
        ("pose", "unknown"),
    }
    assert worst["face_recall"]["value"] == 0.5
    assert worst["face_recall"]["gap"] == pytest.approx(0.5 - 90 / 110)
    assert report["subgroups"]["mask_colour"] == [
        {
            "bin": "white",
            "faces": 30,
            "face_recall": 1.0,
            "detected": 30,
            "unmasked": 0,
            "unmasked_recall": pytest.approx(float("nan"), nan_ok=True),
            "masked_detected": 30,
            "mask_false_alarm": pytest.approx(0.1),
            "accuracy": pytest.approx(0.9),
        }
    ]


def test_crop_outcome_maps_the_face_box_into_the_crop():
    from maskwatch.classify.crop import face_crop

    image = _face((245, 245, 245))
    crop = face_crop(image, [50, 50, 150, 150])
    face = box_in_crop([50, 50, 150, 150], crop.shape[0])
    assert face == pytest.approx([16, 16, 96, 96], abs=0.01)  # 112 px crop of a 140 px square
    outcome, whole = crop_outcomes(
        [crop, crop], ["mask", "no_mask"], ["mask", "mask"], [[50, 50, 150, 150], None], [100.0, 90.0], pose_detector()
    )
    assert outcome.detected is None and outcome.mask_colour == "white" and outcome.face_px == 100.0
    assert whole.mask_colour is None and whole.brightness == pytest.approx(crop.mean(), abs=30)
    assert subgroup_report([outcome])["subgroup_overall"]["face_recall"] is None


def test_real_photos_subgroups_add_up(shared_data, tmp_path):
    """The real pipeline on real street photos: every subgroup list has bins, and size, brightness and pose each
    hold every face once; the report writes metrics.json with the four lists and a plot per subgroup."""
    from maskwatch.evaluate.report import write_report
    from maskwatch.evaluate.voc import pipeline_predictions, score_predictions, voc_subgroups
    from maskwatch.pipeline import MaskPipeline

    folder = shared_data / "andrewmvd"
    from maskwatch.data.voc_folder import read_voc_folder

    annotations = read_voc_folder(folder)[:12]
    predictions = pipeline_predictions(annotations, MaskPipeline.from_defaults(min_score=0.05))
    assert any("landmarks" in e for entries in predictions.values() for e in entries)
    result = score_predictions(predictions, annotations)
    result.subgroups = voc_subgroups(annotations, predictions, 0.5, result.notes)
    n_faces = sum(result.n_faces.values())
    for group in ("face_size", "brightness", "pose"):
        assert sum(b["faces"] for b in result.subgroups["subgroups"][group]) == n_faces, group
    assert result.subgroups["subgroup_overall"]["unmasked_recall"] == pytest.approx(
        result.compliance.unmasked_recall, nan_ok=True
    )
    written = write_report(result, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["subgroups"]) == {"face_size", "brightness", "pose", "mask_colour"}
    assert all(metrics["subgroups"][g] for g in ("face_size", "brightness", "pose", "mask_colour"))
    assert {p.name for p in written} >= {f"subgroup_{g}.png" for g in metrics["subgroups"]}
    assert cv2.imread(str(tmp_path / "subgroup_pose.png")) is not None
