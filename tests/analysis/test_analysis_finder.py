"""The finder's bookkeeping of regions: which faces of the last frame a region has looked at."""

import numpy as np

from maskwatch.analysis.finder import looked_at
from maskwatch.core.detections import Detections
from maskwatch.detect.regions import SEEN_AT_INPUT, Region


def faces(*boxes):
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32))


def test_a_region_that_sees_a_face_too_small_for_the_detector_has_not_looked_at_it():
    found = faces([100, 100, 116, 116], [300, 100, 340, 140])  # 16 and 40 px
    sweep = Region((0, 0, 512, 512), 1.0, "sweep")  # 1x: the 16 px face is 16 px at the input
    assert 16 < SEEN_AT_INPUT <= 40
    assert looked_at(found, [sweep]).tolist() == [False, True]  # a miss of the 16 px face there drops nothing
    close = Region((80, 80, 133, 133), 160 / 53, "face")  # 3x: 48 px at the input
    assert looked_at(found, [close]).tolist() == [True, False]  # the 40 px face is not wholly inside


def test_a_face_cut_by_a_region_was_not_looked_at():
    found = faces([100, 100, 140, 140])
    assert looked_at(found, [Region((120, 0, 376, 256), 1.0, "sweep")]).tolist() == [False]
