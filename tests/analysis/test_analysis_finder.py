"""The finder's bookkeeping of regions: which faces of the last frame a region has looked at, and which doubtful
faces it looks at closer."""

import numpy as np
import pytest

from maskwatch.analysis.finder import PROBE_SCORE, FaceFinder, looked_at
from maskwatch.core.detections import Detections
from maskwatch.detect.regions import SEEN_AT_INPUT, Region, RegionSettings
from maskwatch.sources import Frame


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


class StillFace:
    """Stands in for the detector on regions: one still face, scored by the scale of the region that holds it whole
    (`score_at`: {at least this scale: score}), or none once `box` is None; every region planned is recorded."""

    def __init__(self, box, score_at):
        self.box, self.score_at = np.array(box, np.float32), score_at
        self.planned: list[list[Region]] = []

    def analyze_batch(self, images, min_score=None):
        return [Detections.empty() for _ in images]

    def analyze_regions(self, frames, min_score=None):
        out = []
        for _, regions in frames:
            self.planned.append(regions)
            scores = [self._score(r) for r in regions if self.box is not None and _holds(r.box, self.box)]
            best = max(scores, default=0.0)
            out.append(faces(self.box) if best >= (min_score or 0) and best > 0 else Detections.empty())
            if len(out[-1]):
                out[-1].det_scores[:] = best
        return out

    def _score(self, region):
        return max((s for scale, s in self.score_at.items() if region.scale >= scale), default=0.0)


def _holds(square, box):
    return square[0] <= box[0] and square[1] <= box[1] and square[2] >= box[2] and square[3] >= box[3]


def _still_frames(finder, detector, n):
    image = np.zeros((1080, 1920, 3), np.uint8)
    return [finder.find(Frame(image, i + 1, i * 0.2), detector) for i in range(n)]


def _finder():
    # the start sweep at the sweep's 1x, all in the first frame (at the default 2x it would see a 14-px face at 28 px)
    settings = RegionSettings(face_input=192, start_scale=1.0, start_max=1000)
    return FaceFinder(0.3, redetect_seconds=1.0, regions=settings, phase=0.0)


def test_a_doubtful_face_seen_too_small_is_looked_at_closer_on_the_next_frame():
    # 14 px: 14 px at the input of a 1x sweep square, which scores it 0.2; 42 px in a face's region (3x): 0.95
    detector = StillFace([100, 100, 114, 114], {1.0: 0.2, 2.5: 0.95})
    shown = _still_frames(_finder(), detector, 2)
    swept = [r for r in detector.planned[0] if r.kind == "sweep" and _holds(r.box, detector.box)]
    assert swept and max(r.scale for r in swept) == 1.0  # frame 1: the start sweep's squares hold the face at 1x
    assert len(shown[0]) == 0  # a doubtful face is not shown
    closer = [r for r in detector.planned[1] if r.kind == "face" and _holds(r.box, detector.box)]
    assert closer and closer[0].scale >= 2.5
    assert len(shown[1]) == 1 and shown[1].det_scores[0] == pytest.approx(0.95)


def test_a_face_under_the_probe_score_is_not_looked_at_again():
    detector = StillFace([100, 100, 114, 114], {1.0: PROBE_SCORE / 2, 2.5: 0.95})
    shown = _still_frames(_finder(), detector, 3)
    assert not any(r.kind == "face" for r in detector.planned[2])
    assert [len(s) for s in shown] == [0, 0, 0]


def test_a_reconnected_source_is_looked_at_as_a_camera_first_frame():
    image = np.zeros((1080, 1920, 3), np.uint8)
    finder, scene = _finder(), StillFace([100, 100, 140, 140], {0.0: 0.9})
    shown = [finder.find(Frame(image, i + 1, i * 0.2, opening=1), scene) for i in range(5)]
    assert len(shown[0]) == 1 and len(shown[-1]) == 1
    first_plan, steady = len(scene.planned[0]), len(scene.planned[-1])
    assert first_plan > 10 * steady  # the first frame: the start sweep over the whole frame
    scene.box = None  # the person left while the camera was away
    back = finder.find(Frame(image, 6, 60.0, opening=2), scene)
    assert len(scene.planned[-1]) == first_plan  # the start sweep again, from the first frame back
    assert len(back) == 0  # the face of before the outage is not kept for a still scene
    again = finder.find(Frame(image, 7, 60.2, opening=2), scene)
    assert len(scene.planned[-1]) <= steady + 2 and len(again) == 0  # and then as usual
