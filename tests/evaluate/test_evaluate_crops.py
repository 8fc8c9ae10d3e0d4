"""Classifier scoring on crop datasets: metrics from probabilities by hand, and the real classifier end to end."""

import cv2
import numpy as np
import pytest

from maskwatch.classify.crop import face_crop
from maskwatch.core.errors import UserError
from maskwatch.evaluate.crops import evaluate_crops, read_val_rows, score_crop_predictions
from maskwatch.evaluate.voc import read_voc_folder

HEADER = "path,label,source,split,group,image,box,face_px,brightness\n"


def test_scores_from_probabilities_by_hand():
    labels = ["mask", "mask", "no_mask", "no_mask", "incorrect"]
    sources = ["a", "a", "a", "b", "b"]
    probs = np.array(
        [
            [0.9, 0.05, 0.05],  # mask, right
            [0.3, 0.6, 0.1],  # mask called no_mask
            [0.2, 0.7, 0.1],  # no_mask, right
            [0.1, 0.8, 0.1],  # no_mask, right
            [0.4, 0.1, 0.5],  # incorrect, right
        ]
    )
    r = score_crop_predictions(labels, sources, probs)
    np.testing.assert_array_equal(r.classification.confusion, [[1, 1, 0], [0, 2, 0], [0, 0, 1]])
    assert r.classification.accuracy == pytest.approx(4 / 5)
    assert r.per_source == {"a": {"n": 3, "accuracy": pytest.approx(2 / 3)}, "b": {"n": 2, "accuracy": 1.0}}
    # mask one-vs-rest, ranked by p(mask): .9 mask, .4 inc, .3 mask, .2, .1 -> precision 1, 1/2, 2/3 at recall
    # 1/2, 1/2, 1 -> AP = 1/2*1 + 1/2*2/3 = 5/6
    assert r.curves["mask"].ap == pytest.approx(5 / 6)
    # no_mask ranked by p(no_mask): .8 nm, .7 nm, .6 mask ... -> AP 1
    assert r.curves["no_mask"].ap == 1.0
    assert r.per_face_px == {}
    # By face size over the data report's buckets (0-24, 24-48, ...); crops of unknown size are left out.
    sized = score_crop_predictions(labels, sources, probs, face_px=[10, 30, 30, 200, float("nan")])
    assert sized.per_face_px == {
        "0-24": {"n": 1, "accuracy": 1.0},
        "24-48": {"n": 2, "accuracy": 0.5},
        ">=192": {"n": 1, "accuracy": 1.0},
    }
    # By lighting (the crop's mean grey) over the data report's buckets 0-60, 60-120, 120-180, 180-256
    lit = score_crop_predictions(labels, sources, probs, brightness=[30, 50, 100, 200, 250])
    assert (
        lit.per_brightness
        == {
            "0-60": {"n": 2, "accuracy": 0.5},
            "60-120": {"n": 1, "accuracy": 1.0},
            "180-256": {"n": 2, "accuracy": 1.0},
        }
        and r.per_brightness == {}
    )


def test_missing_manifest_or_val_rows_is_user_error(tmp_path):
    with pytest.raises(UserError, match=r"manifest\.csv"):
        read_val_rows(tmp_path)
    (tmp_path / "manifest.csv").write_text(HEADER + "crops/mask/1.jpg,mask,a,train,g,i.jpg,0 0 1 1,1,1\n")
    with pytest.raises(UserError, match="split == val"):
        read_val_rows(tmp_path)


def test_real_classifier_on_crops_of_real_faces(tmp_path, shared_data, classifier_model):
    """The shipped classifier on a few val-style crops cut from andrewmvd scenes (plumbing, not a quality bar)."""
    anns = read_voc_folder(shared_data / "andrewmvd")[:6]
    lines = [HEADER]
    for k, ann in enumerate(anns):
        image = cv2.imread(ann.path)
        for j, (box, label) in enumerate(zip(ann.boxes, ann.labels, strict=True)):
            rel = f"crops/{label}/{k}_{j}.jpg"
            (tmp_path / "crops" / label).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / rel), face_crop(image, box))
            lines.append(f"{rel},{label},andrewmvd,val,g{k},{ann.path},{' '.join(map(str, box))},40,128\n")
    (tmp_path / "manifest.csv").write_text("".join(lines))
    result = evaluate_crops(tmp_path, model_path=classifier_model)
    n = len(lines) - 1
    assert result.n_crops == n and result.per_source["andrewmvd"]["n"] == n
    assert result.classification.confusion.sum() == n
    assert 0.0 <= result.classification.accuracy <= 1.0
    assert result.per_face_px == {"24-48": {"n": n, "accuracy": pytest.approx(result.classification.accuracy)}}
    assert result.per_brightness == {"120-180": {"n": n, "accuracy": pytest.approx(result.classification.accuracy)}}


def test_cli_crops_without_dataset_is_user_error(tmp_path):
    from typer.testing import CliRunner

    from maskwatch.evaluate.cli import app

    res = CliRunner().invoke(app, ["crops", str(tmp_path / "none"), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, UserError) and "manifest.csv" in str(res.exception)
