"""The service's hooks: unsure faces (sampled per camera per hour, once per track), flipped tracks, and alerts kept
only once a reviewer marks them; a failing store costs nothing but the case."""

from __future__ import annotations

import numpy as np

from maskwatch.cases import CaseCollector, CaseStore, top_margin
from maskwatch.config import CollectConfig, ZoneConfig
from maskwatch.core.detections import Detections
from maskwatch.rules import make_zones

UNSURE = [0.48, 0.42, 0.10]
SURE = [0.05, 0.9, 0.05]


def frame() -> np.ndarray:
    image = np.full((480, 640, 3), 40, np.uint8)
    image[100:180, 100:170] = 220
    image[200:280, 400:470] = 120
    return image


def faces(probs: list[list[float]], tracks: list[int]) -> Detections:
    boxes = np.array([[100, 100, 170, 180], [400, 200, 470, 280]], np.float32)[: len(probs)]
    return Detections(
        boxes, np.full(len(probs), 0.9, np.float32), None, np.array(probs, np.float32), np.array(tracks, np.int64)
    )


def collector(tmp_path, **config) -> CaseCollector:
    return CaseCollector(CollectConfig(enabled=True, **config), CaseStore(tmp_path / "cases"), "mask_classifier-abc")


def test_top_margin():
    assert abs(top_margin(np.array(UNSURE)) - 0.06) < 1e-6 and abs(top_margin(np.array(SURE)) - 0.85) < 1e-6


def test_unsure_faces_are_kept_once_per_track_and_at_most_n_per_camera_per_hour(tmp_path):
    c = collector(tmp_path, unsure_per_camera_per_hour=3)
    zones = make_zones([ZoneConfig(name="left", polygon=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)])])
    image = frame()
    c.faces("door", image, 1000.0, faces([UNSURE, SURE], [1, 2]), {1: "mask", 2: "no_mask"}, zones)
    c.faces("door", image, 1000.2, faces([UNSURE, SURE], [1, 2]), {1: "mask", 2: "no_mask"}, zones)  # same track
    (case,) = c.store.query()
    assert case.reason == "unsure" and case.camera == "door" and case.zone == "left" and case.time == 1000.0
    assert case.model_version == "mask_classifier-abc" and abs(case.probs["mask"] - 0.48) < 1e-4
    for tid in range(10, 20):  # new tracks, all unsure: the hour's budget of 3 holds
        c.faces("door", image, 1001.0 + tid, faces([UNSURE], [tid]), {tid: "mask"}, [])
    assert c.store.counts()["reasons"]["unsure"] == 3
    c.faces("hall", image, 1100.0, faces([UNSURE], [1]), {1: "mask"}, [])  # another camera: its own budget
    c.faces("door", image, 1000.0 + 3600.5, faces([UNSURE], [99]), {99: "mask"}, [])  # an hour on
    assert c.store.counts()["reasons"]["unsure"] == 5


def test_a_track_whose_smoothed_label_flips_is_kept(tmp_path):
    c = collector(tmp_path, reasons=["flipped"])
    image = frame()
    c.faces("door", image, 10.0, faces([SURE], [5]), {5: "no_mask"}, [])
    c.faces("door", image, 10.2, faces([UNSURE], [5]), {5: "no_mask"}, [])  # unsure, but not collected
    assert c.store.counts()["total"] == 0
    c.faces("door", image, 10.4, faces([[0.7, 0.2, 0.1]], [5]), {5: "mask"}, [])
    (case,) = c.store.query()
    assert case.reason == "flipped" and case.guess == "mask"


def test_an_alert_becomes_a_case_only_when_reviewed_and_follows_the_review(tmp_path):
    c = collector(tmp_path)
    image = frame()
    c.alert(41, "door", "entrance", 50.0, image, (400, 200, 470, 280), SURE)
    assert c.store.counts()["total"] == 0 and c.pending() == 1  # held in memory, not kept
    c.reviewed(41, "false_alarm")
    (case,) = c.store.query()
    assert (case.reason, case.event_id, case.zone, case.guess) == ("reviewed_false_alarm", 41, "entrance", "no_mask")
    c.reviewed(41, "confirmed")  # changed their mind
    assert c.store.get(case.id).reason == "reviewed_confirmed" and c.store.counts()["total"] == 1
    c.reviewed(41, None)  # took the review back: the unlabelled case goes
    assert c.store.counts()["total"] == 0
    c.reviewed(12345, "confirmed")  # an alert from before the start: nothing held, nothing kept
    assert c.store.counts()["total"] == 0


def test_a_broken_store_costs_the_case_and_nothing_else(tmp_path):
    c = collector(tmp_path)
    c.store.close()
    c.faces("door", frame(), 1.0, faces([UNSURE], [1]), {1: "mask"}, [])  # logs, does not raise
    c.alert(1, "door", None, 1.0, frame(), (100, 100, 170, 180), UNSURE)
    c.reviewed(1, "confirmed")
    assert c.failed == 2 and c.kept == 0


def test_faces_smaller_than_min_face_px_are_not_kept(tmp_path):
    c = collector(tmp_path, min_face_px=100)
    c.faces("door", frame(), 1.0, faces([UNSURE], [1]), {1: "mask"}, [])
    assert c.store.counts()["total"] == 0
