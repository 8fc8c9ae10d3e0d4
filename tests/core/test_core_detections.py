"""What moves between stages: the reported score of a classified face."""

import numpy as np

from maskwatch.core.detections import Detections


def test_score_is_face_confidence_times_the_compliance_group_probability():
    probs = np.array([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.1, 0.1, 0.8]], np.float32)
    dets = Detections(np.zeros((3, 4), np.float32), np.array([0.9, 1.0, 0.5], np.float32), class_probs=probs)
    assert dets.labels == ["mask", "no_mask", "incorrect"]
    np.testing.assert_allclose(dets.scores, [0.9 * 0.7, 1.0 * 0.7, 0.5 * 0.9], rtol=1e-6)
    np.testing.assert_array_equal(Detections(dets.xyxy, dets.det_scores).scores, dets.det_scores)
