"""The tracker and the label smoother."""

from __future__ import annotations

import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.track import FaceTracker, LabelSmoother

NO_MASK = np.array([0.05, 0.9, 0.05], np.float32)


MASK = np.array([0.9, 0.05, 0.05], np.float32)


def _dets(boxes, scores=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(boxes, np.asarray(scores if scores is not None else [0.9] * len(boxes), np.float32))


def test_tracker_keeps_ids_for_moving_faces():
    tracker = FaceTracker(fps=5, lost_seconds=1.0)
    ids = []
    for step in range(6):
        d = tracker.update(_dets([[10 + 3 * step, 10, 60 + 3 * step, 70], [200, 50, 260, 120]]))
        ids.append(tuple(d.track_ids))
    confirmed = [t for t in ids if min(t) >= 1]
    assert confirmed and all(t == confirmed[0] for t in confirmed) and confirmed[0][0] != confirmed[0][1]
    assert len(tracker.update(_dets(np.zeros((0, 4)))).track_ids) == 0


def test_smoother_ignores_one_bad_frame_and_times_the_label():
    s = LabelSmoother(window=5)
    for t in range(4):
        tl = s.update(7, NO_MASK, float(t))
    assert tl.label == "no_mask" and tl.stable_seconds == 3.0 and tl.confidence > 0.85
    tl = s.update(7, MASK, 4.0)  # one frame disagrees
    assert tl.label == "no_mask" and tl.stable_seconds == 4.0
    for t in (5.0, 6.0, 7.0):
        tl = s.update(7, MASK, t)
    assert tl.label == "mask" and tl.stable_seconds < 2.0  # the flip restarts the hold time
    s.prune(100.0)
    assert len(s) == 0
