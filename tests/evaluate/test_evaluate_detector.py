"""The detector-only view (maskwatch evaluate detector): faces found per class and size at score >= 0.3, counted by
hand."""

from __future__ import annotations

import numpy as np

from maskwatch.evaluate.detector import score_detections
from maskwatch.evaluate.metrics import FACE, ImageAnnotation, ImagePredictions


def test_found_faces_per_class_and_size_are_counted_one_to_one():
    gt = ImageAnnotation(
        "a.jpg",
        np.array([[0, 0, 20, 20], [100, 100, 140, 140], [200, 200, 300, 300], [400, 400, 405, 405]]),
        ["mask", "no_mask", "incorrect", "mask"],
        np.array([False, False, False, True]),  # the 5 px face is difficult: neither found nor missed
    )
    preds = ImagePredictions(
        np.array([[1, 1, 20, 20], [0, 0, 19, 21], [100, 100, 140, 141], [200, 200, 300, 300], [500, 500, 520, 520]]),
        [FACE] * 5,
        np.array([0.9, 0.8, 0.2, 0.95, 0.5]),  # a duplicate of face 1, face 2 below 0.3, one false detection
    )
    score = score_detections([gt], {"a.jpg": preds})
    assert score.found["mask"] == [1, 1]
    assert score.found["no_mask"] == [0, 1]  # found only at 0.2
    assert score.found["incorrect"] == [1, 1]
    assert score.found["unmasked"] == [1, 2] and score.found["all"] == [2, 3]
    assert score.by_size["16-32"] == [1, 1] and score.by_size["32-64"] == [0, 1] and score.by_size["64-128"] == [1, 1]
    assert score.false_detections == 2  # the duplicate and the stray box
    assert 0 < score.face_ap <= 1 and score.n_faces == 3
