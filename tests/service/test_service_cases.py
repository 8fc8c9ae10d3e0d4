"""The running service with `collect:` on: alerts a reviewer marks become cases, unsure faces are kept, nothing
is kept where collection is off, and a cases store that cannot open costs no alert."""

from __future__ import annotations

import yaml

from helpers_service.servers import wait_for
from maskwatch.config import load_config
from maskwatch.service import Service


def start(tmp_path, pipeline, test_clip, collect: dict) -> Service:
    config = {
        "cameras": [{"name": "door-cam", "source": str(test_clip), "fps": 5}],
        "rules": {"min_seconds": 0.5, "cooldown_seconds": 3.0},
        "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
        "collect": collect,
    }
    path = tmp_path / "maskwatch.yaml"
    path.write_text(yaml.safe_dump(config))
    service = Service(load_config(path), path, pipeline=pipeline)
    service.start()
    return service


def test_reviewed_alerts_and_unsure_faces_become_cases(tmp_path, pipeline, test_clip):
    service = start(tmp_path, pipeline, test_clip, {"enabled": True, "unsure_margin": 0.9995})
    try:
        assert wait_for(lambda: len(service.events()) >= 2, 60), "fewer than 2 alerts within 60 s"
        collector = service.case_collector
        assert collector is not None and collector.enabled
        first, second = service.events()[-2:][::-1]
        service.review_event(first["id"], "confirmed")
        service.review_event(second["id"], "false_alarm")
        store = collector.store
        reviewed = {c.event_id: c for c in store.query(reason="reviewed")}
        assert reviewed[first["id"]].reason == "reviewed_confirmed"
        assert reviewed[second["id"]].reason == "reviewed_false_alarm"
        case = reviewed[first["id"]]
        assert case.camera == "door-cam" and case.model_version == pipeline.classifier.version
        assert case.guess in ("no_mask", "incorrect") and store.crop_path(case).is_file()
        assert store.counts()["reasons"]["unsure"] >= 1  # every face of this clip is unsure at 0.9995
        assert (tmp_path / "data" / "cases" / "cases.db").is_file()
    finally:
        service.stop()


def test_nothing_is_kept_while_collection_is_off(tmp_path, pipeline, test_clip):
    service = start(tmp_path, pipeline, test_clip, {"enabled": False})
    try:
        assert wait_for(lambda: len(service.events()) >= 1, 60)
        service.review_event(service.events()[0]["id"], "confirmed")
        assert service.case_collector is None and not (tmp_path / "data" / "cases").exists()
    finally:
        service.stop()


def test_a_cases_store_that_cannot_open_costs_no_alert(tmp_path, pipeline, test_clip):
    (tmp_path / "blocked").write_text("a file where the cases folder should be")
    service = start(tmp_path, pipeline, test_clip, {"enabled": True, "folder": "blocked"})
    try:
        assert service.case_collector is None
        assert wait_for(lambda: len(service.events()) >= 1, 60), "no alert with a broken cases store"
    finally:
        service.stop()


def test_turned_off_the_crops_kept_earlier_stay_labelable_and_expire(tmp_path, pipeline, test_clip):
    import time

    import numpy as np

    from maskwatch.cases import CaseStore
    from maskwatch.cases.crops import encode_jpeg

    earlier = CaseStore(tmp_path / "data" / "cases")
    crop = encode_jpeg(np.full((64, 64, 3), 90, np.uint8), 90)
    old = earlier.add(crop, "door-cam", None, time.time() - 20 * 86400, "unsure", "v", [0.5, 0.4, 0.1])
    recent = earlier.add(crop, "door-cam", None, time.time() - 3600, "unsure", "v", [0.5, 0.4, 0.1])
    earlier.close()
    service = start(tmp_path, pipeline, test_clip, {"enabled": False, "unsure_margin": 0.9995})
    try:
        collector = service.case_collector
        assert collector is not None and not collector.enabled  # open for labelling and retention only
        assert all(cam.analyser.cases is None for cam in service.local.cameras.values())
        assert wait_for(lambda: collector.store.get(old) is None, 10)  # past 14 days: gone at the start
        assert collector.store.set_label(recent, "mask").label == "mask"
        assert wait_for(lambda: len(service.events()) >= 1, 60)
        service.review_event(service.events()[0]["id"], "confirmed")
        assert collector.store.counts()["total"] == 1 and collector.kept == 0  # nothing new kept
    finally:
        service.stop()
