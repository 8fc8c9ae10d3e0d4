"""Detection AP, classification and compliance numbers against values worked out by hand."""

import math

import numpy as np
import pytest

from maskwatch.evaluate.metrics import (
    FACE,
    ImageAnnotation,
    ImagePredictions,
    average_precision,
    classification_metrics,
    compliance,
    confusion_matrix,
    mean_ap,
    pr_curve,
)


def sq(x, y=0, side=100):
    return [x, y, x + side, y + side]


def gt(name, boxes, labels, difficult=None):
    boxes = np.array(boxes, float).reshape(-1, 4)
    return ImageAnnotation(
        name, boxes, labels, np.zeros(len(boxes), bool) if difficult is None else np.array(difficult, bool)
    )


def preds(items):
    """items: (box, label, score)"""
    return ImagePredictions(
        np.array([b for b, _, _ in items], float).reshape(-1, 4),
        [lab for _, lab, _ in items],
        np.array([s for _, _, s in items], float),
    )


def test_average_precision_all_point_interpolation():
    # ranks TP, FP, TP, FP with 3 GT: recall 1/3 1/3 2/3 2/3, precision 1 1/2 2/3 1/2.
    # envelope: precision 1 up to recall 1/3, 2/3 up to recall 2/3, nothing beyond -> 1/3*1 + 1/3*2/3 = 5/9
    recall = np.array([1, 1, 2, 2]) / 3
    precision = np.array([1, 1 / 2, 2 / 3, 1 / 2])
    assert average_precision(recall, precision) == pytest.approx(5 / 9)


def test_ap_ranks_across_images_including_an_image_without_gt():
    # image a: two mask faces found at 0.9 and 0.7; image b: one mask face never found;
    # image c: no faces, a false detection at 0.8; image b also a false one at 0.6.
    # ranked: 0.9 TP, 0.8 FP, 0.7 TP, 0.6 FP over 3 GT -> AP 5/9 (see above)
    anns = [gt("a", [sq(0), sq(200)], ["mask", "mask"]), gt("b", [sq(0)], ["mask"]), gt("c", [], [])]
    p = {
        "a": preds([(sq(2), "mask", 0.9), (sq(203), "mask", 0.7)]),
        "b": preds([(sq(500), "mask", 0.6)]),
        "c": preds([(sq(0), "mask", 0.8)]),
    }
    curve = pr_curve("mask", anns, p)
    assert curve.ap == pytest.approx(5 / 9)
    assert (curve.n_gt, curve.n_pred, curve.n_tp) == (3, 4, 2)
    np.testing.assert_allclose(curve.precision, [1, 1 / 2, 2 / 3, 1 / 2])


def test_perfect_predictions_score_one_and_missing_predictions_zero():
    anns = [gt("a", [sq(0), sq(200), sq(400)], ["mask", "no_mask", "incorrect"])]
    perfect = {"a": preds([(sq(0), "mask", 0.9), (sq(200), "no_mask", 0.8), (sq(400), "incorrect", 0.7)])}
    curves = {c: pr_curve(c, anns, perfect) for c in ("mask", "no_mask", "incorrect", FACE)}
    assert all(c.ap == 1.0 for c in curves.values())
    assert mean_ap(curves, ("mask", "no_mask", "incorrect")) == 1.0
    empty = {c: pr_curve(c, anns, {}) for c in ("mask", "no_mask")}
    assert empty["mask"].ap == 0.0 and empty["mask"].n_pred == 0
    assert mean_ap(empty, ("mask", "no_mask")) == 0.0


def test_duplicate_detection_is_a_false_positive():
    # 2 GT; 0.9 finds g0, 0.8 finds g0 again (duplicate, FP), 0.7 finds g1.
    # recall .5 .5 1, precision 1 .5 2/3 -> AP = .5*1 + .5*2/3 = 5/6
    anns = [gt("a", [sq(0), sq(200)], ["mask", "mask"])]
    p = {"a": preds([(sq(0), "mask", 0.9), (sq(5, 5), "mask", 0.8), (sq(200), "mask", 0.7)])}
    curve = pr_curve("mask", anns, p)
    assert curve.n_tp == 2
    assert curve.ap == pytest.approx(5 / 6)


def test_difficult_faces_are_ignored_not_missed_nor_false():
    # g1 is difficult: its 0.9 detection drops out, leaving 0.8 FP then 0.7 TP over 1 GT:
    # precision 0 then 1/2 at recall 1 -> AP 0.5 (1/3 if it counted as FP, 5/6 if as a normal face)
    anns = [gt("a", [sq(0), sq(200)], ["mask", "mask"], difficult=[False, True])]
    p = {"a": preds([(sq(200), "mask", 0.9), (sq(600), "mask", 0.8), (sq(0), "mask", 0.7)])}
    curve = pr_curve("mask", anns, p)
    assert (curve.n_gt, curve.n_pred) == (1, 2)
    assert curve.ap == pytest.approx(0.5)


def test_labels_split_class_ap_but_not_face_ap():
    # the no_mask face is called mask: mask AP gets a FP after its TP, no_mask AP is 0, face AP is 1
    anns = [gt("a", [sq(0), sq(200)], ["mask", "no_mask"])]
    p = {"a": preds([(sq(0), "mask", 0.9), (sq(200), "mask", 0.8)])}
    assert pr_curve("mask", anns, p).ap == 1.0  # precision 1 at recall 1 is reached first
    assert pr_curve("no_mask", anns, p).ap == 0.0
    assert pr_curve(FACE, anns, p).ap == 1.0


def test_class_without_ground_truth_makes_its_map_undefined():
    anns = [gt("a", [sq(0)], ["mask"])]
    p = {"a": preds([(sq(0), "mask", 0.9)])}
    curves = {c: pr_curve(c, anns, p) for c in ("mask", "no_mask", "incorrect")}
    assert math.isnan(curves["incorrect"].ap)
    assert math.isnan(mean_ap(curves, ("mask", "incorrect")))
    assert mean_ap(curves, ("mask",)) == 1.0


def test_iou_threshold_is_inclusive_at_one_half():
    # pred (0,0,100,100) vs GT (0,0,100,200): IoU 10000/20000 = 0.5 exactly -> TP
    anns = [gt("a", [[0, 0, 100, 200]], ["mask"])]
    assert pr_curve("mask", anns, {"a": preds([(sq(0), "mask", 0.9)])}).ap == 1.0
    assert pr_curve("mask", anns, {"a": preds([([0, 0, 100, 99], "mask", 0.9)])}).ap == 0.0


def test_confusion_and_precision_recall_f1_by_hand():
    true = ["mask"] * 4 + ["no_mask"] * 2 + ["incorrect"]
    pred = ["mask", "mask", "mask", "no_mask", "no_mask", "mask", "mask"]
    cm = confusion_matrix(true, pred)
    np.testing.assert_array_equal(cm, [[3, 1, 0], [1, 1, 0], [1, 0, 0]])
    r = classification_metrics(cm)
    assert r.accuracy == pytest.approx(4 / 7)
    assert r.precision == pytest.approx({"mask": 3 / 5, "no_mask": 1 / 2, "incorrect": 0.0})
    assert r.recall == pytest.approx({"mask": 3 / 4, "no_mask": 1 / 2, "incorrect": 0.0})
    # mask F1 = 2 * .6 * .75 / 1.35 = 2/3
    assert r.f1 == pytest.approx({"mask": 2 / 3, "no_mask": 1 / 2, "incorrect": 0.0})
    assert r.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    assert r.support == {"mask": 4, "no_mask": 2, "incorrect": 1}


def test_macro_f1_leaves_out_a_class_that_never_occurs():
    r = classification_metrics(confusion_matrix(["mask", "no_mask"], ["mask", "no_mask"]))
    assert r.macro_f1 == 1.0
    assert r.f1["incorrect"] == 0.0


def test_compliance_view_by_hand():
    anns = [
        gt(
            "a",
            [sq(0), sq(200), sq(400), sq(600), sq(800), sq(1000)],
            ["no_mask", "incorrect", "no_mask", "mask", "mask", "mask"],
            difficult=[False, False, False, False, False, True],
        ),
        gt("b", [sq(0)], ["no_mask"]),  # no predictions at all for this image
    ]
    p = {
        "a": preds(
            [
                (sq(0), "no_mask", 0.9),  # unmasked face caught
                (sq(5, 5), "mask", 0.55),  # duplicate of the face above: a false detection
                (sq(200), "mask", 0.8),  # incorrect face called mask
                (sq(400), "no_mask", 0.3),  # below threshold: that no_mask face is undetected
                (sq(600), "no_mask", 0.7),  # mask face called no_mask: false alarm
                (sq(800), "mask", 0.6),  # mask face right
                (sq(1000), "no_mask", 0.9),  # difficult face: counted nowhere
                (sq(0, 300), "no_mask", 0.9),  # nothing there: a false detection
            ]
        )
    }
    c = compliance(anns, p, threshold=0.5)
    # unmasked GT: a.g0, a.g1, a.g2, b.g0 = 4; caught 1 (a.g0); undetected a.g2 + b.g0 = 2; called mask a.g1 = 1
    assert (c.n_unmasked, c.n_unmasked_caught, c.n_unmasked_undetected, c.n_unmasked_called_mask) == (4, 1, 2, 1)
    assert c.unmasked_recall == pytest.approx(1 / 4)
    assert c.n_unmasked_missed == 3
    # mask GT matched above threshold: a.g3, a.g4 = 2; one of them called no_mask
    assert (c.n_masked_detected, c.n_masked_false_alarm) == (2, 1)
    assert c.masked_false_alarm_rate == pytest.approx(1 / 2)
    assert c.n_false_detections == 2
    assert c.n_false_detections_away == 1  # the duplicate touches a face; the one at (0, 300) touches none
    np.testing.assert_array_equal(c.confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 0]])
    # a lower threshold lets the 0.3 detection catch a.g2
    assert compliance(anns, p, threshold=0.25).n_unmasked_caught == 2


def test_compliance_without_faces_is_undefined_not_zero():
    c = compliance([gt("a", [], [])], {"a": preds([(sq(0), "mask", 0.9)])})
    assert math.isnan(c.unmasked_recall) and math.isnan(c.masked_false_alarm_rate)
    assert c.n_false_detections == 1 and c.n_false_detections_away == 1


def test_difficult_face_absorbs_predictions_of_any_label():
    # the difficult face is labelled mask; a no_mask detection on it is ignored, not a no_mask FP
    anns = [gt("a", [sq(0), sq(200)], ["no_mask", "mask"], difficult=[False, True])]
    p = {"a": preds([(sq(200), "no_mask", 0.9), (sq(0), "no_mask", 0.8)])}
    curve = pr_curve("no_mask", anns, p)
    assert (curve.n_gt, curve.n_pred, curve.ap) == (1, 1, 1.0)
