"""Intervals of a photo set's figures from resampling its images."""

import numpy as np
import pytest

from maskwatch.evaluate.bootstrap import _ClassTally, bootstrap_intervals, paired_differences, ratio_interval
from maskwatch.evaluate.metrics import ImageAnnotation, ImagePredictions, compliance, pr_curve

PRIMARY = ("mask", "no_mask")


def random_set(n_images: int, seed: int = 0) -> tuple[list[ImageAnnotation], dict[str, ImagePredictions]]:
    """Images of two faces side by side; each face is found (right label, random score) or missed, and some
    images hold a false detection."""
    rng = np.random.default_rng(seed)
    anns, preds = [], {}
    for i in range(n_images):
        labels = list(rng.choice(["mask", "no_mask", "incorrect"], 2))
        boxes = np.array([[0, 0, 100, 100], [200, 0, 300, 100]], float)
        found = rng.random(2) < 0.8
        p_boxes = [b for b, f in zip(boxes, found, strict=True) if f]
        p_labels = [lab for lab, f in zip(labels, found, strict=True) if f]
        if rng.random() < 0.3:
            p_boxes.append(np.array([500, 0, 600, 100], float))
            p_labels.append("mask")
        name = f"im{i}"
        anns.append(ImageAnnotation(name, boxes, labels, np.zeros(2, bool)))
        preds[name] = ImagePredictions(np.array(p_boxes).reshape(-1, 4), p_labels, rng.random(len(p_boxes)))
    return anns, preds


def test_a_resample_scores_as_the_drawn_images_listed_that_often():
    anns, preds = random_set(30)
    draws = np.random.default_rng(1).multinomial(30, np.full(30, 1 / 30))
    repeated = [a for a, k in zip(anns, draws, strict=True) for _ in range(k)]
    for label in ("mask", "no_mask", "face"):
        assert _ClassTally(label, anns, preds).ap(draws.astype(float)) == pytest.approx(
            pr_curve(label, repeated, preds).ap
        )


def test_identical_photos_leave_nothing_to_vary():
    anns, preds = random_set(1)
    same = [ImageAnnotation(f"copy{i}", anns[0].boxes, anns[0].labels, anns[0].difficult) for i in range(20)]
    copies = {a.name: preds["im0"] for a in same}
    intervals = bootstrap_intervals(same, copies, PRIMARY)
    recall = compliance(same, copies).unmasked_recall
    if not np.isnan(recall):
        assert intervals["unmasked_recall"] == [pytest.approx(recall, abs=1e-4)] * 2
    assert intervals["ap_face"] == [pytest.approx(pr_curve("face", same, copies).ap, abs=1e-4)] * 2


def test_intervals_hold_the_figure_narrow_with_more_photos_and_repeat():
    few, many = random_set(40), random_set(400)
    width = {}
    for name, (anns, preds) in {"few": few, "many": many}.items():
        intervals = bootstrap_intervals(anns, preds, PRIMARY)
        assert intervals == bootstrap_intervals(anns, preds, PRIMARY)  # seeded
        low, high = intervals["map_mask_no_mask"]
        point = np.mean([pr_curve(c, anns, preds).ap for c in PRIMARY])
        assert low <= point <= high
        low_r, high_r = intervals["unmasked_recall"]
        assert low_r <= compliance(anns, preds).unmasked_recall <= high_r
        width[name] = high - low
    assert width["many"] < width["few"] / 2


def test_no_photos_no_intervals():
    assert bootstrap_intervals([], {}, PRIMARY) == {}


def test_paired_differences_are_b_minus_a_and_narrower_than_either_alone():
    anns, preds_a = random_set(200, seed=3)
    # B: A with one more unmasked face caught in every third image where A misses one
    preds_b = dict(preds_a)
    for i, ann in enumerate(anns):
        missing = [j for j, lab in enumerate(ann.labels) if lab != "mask"]
        p = preds_a[ann.name]
        if i % 3 == 0 and missing and not any((p.boxes == ann.boxes[missing[0]]).all(axis=1)):
            j = missing[0]
            preds_b[ann.name] = ImagePredictions(
                np.vstack([p.boxes, ann.boxes[j]]), [*p.labels, ann.labels[j]], np.append(p.scores, 0.95)
            )
    found = paired_differences(anns, preds_a, preds_b, PRIMARY)
    recall = found["unmasked_recall"]
    gain = compliance(anns, preds_b).unmasked_recall - compliance(anns, preds_a).unmasked_recall
    assert gain > 0 and recall["difference"] == pytest.approx(gain, abs=1e-4)
    assert 0 < recall["ci95"][0] <= recall["difference"] <= recall["ci95"][1]  # a gain beyond the noise
    alone = bootstrap_intervals(anns, preds_a, PRIMARY)["unmasked_recall"]
    assert recall["ci95"][1] - recall["ci95"][0] < (alone[1] - alone[0]) / 2
    assert paired_differences(anns, preds_a, preds_a, PRIMARY)["map_mask_no_mask"] == {
        "difference": 0.0,
        "ci95": [0.0, 0.0],
    }


def test_a_ratio_counted_per_item_is_resampled_by_group():
    # clip a: 9 of 10 faces found on each of its 10 frames; clip b: 1 of 10; a clip's frames are drawn together
    found, total = [9] * 10 + [1] * 10, [10] * 20
    assert ratio_interval(found, total, ["a"] * 10 + ["b"] * 10) == [0.1, 0.9]  # both draws b, or both a
    low, high = ratio_interval(found, total, [str(i) for i in range(20)])  # frames apart: far narrower
    assert 0.2 < low < 0.5 < high < 0.8
    assert ratio_interval([0], [0], ["a"]) is None
