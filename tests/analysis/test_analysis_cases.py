"""Case collection on a real video through one analyser: unsure faces and the alert's probabilities reach the
collector; what it keeps are small face crops with the camera, zone and model version."""

from __future__ import annotations

import cv2
from test_analysis_analyser import Collected, door_config, video_frames

from maskwatch.analysis import CameraAnalyser
from maskwatch.cases import CaseCollector, CaseStore
from maskwatch.config import CollectConfig


def test_unsure_faces_of_a_video_are_kept_as_small_crops_with_their_zone(pipeline, test_clip, tmp_path):
    cfg = door_config()
    # every face of this clip counts as unsure here (its margins are 0.95..0.9992): the sampling is tested, not the
    # model; the clip's two faces hold their tracks through it: one crop each
    collect = CollectConfig(enabled=True, unsure_margin=0.9995, unsure_per_camera_per_hour=5, reasons=["unsure"])
    collector = CaseCollector(collect, CaseStore(tmp_path / "cases"), pipeline.classifier.version)
    out = Collected()
    analyser = CameraAnalyser(cfg.camera("door-cam"), cfg, pipeline, out)
    analyser.cases = collector
    for frame in video_frames(test_clip):
        analyser.process(frame)
    cases = collector.store.query(oldest_first=True)
    assert len(cases) == 2 and collector.failed == 0
    assert {c.zone for c in cases} == {"door", "hall"}  # one in each half
    assert all(c.camera == "door-cam" and c.reason == "unsure" and c.time < 4.0 for c in cases)
    assert all(c.model_version == pipeline.classifier.version and abs(sum(c.probs.values()) - 1) < 1e-3 for c in cases)
    for case in cases:
        crop = cv2.imread(str(collector.store.crop_path(case)))
        assert crop is not None and max(crop.shape[:2]) <= 128 and crop.shape[0] < 360 / 2  # a face, not the frame
    (raised,) = out.alerts
    assert raised.probs is not None and raised.probs.argmax() == 1  # no_mask: its own frame's probabilities
