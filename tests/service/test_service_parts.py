"""The service's own checks: zone edits refused, retention at start, offline sources."""

from __future__ import annotations

import time

import numpy as np
import pytest

from helpers_service.servers import wait_for
from maskwatch.events import EventStore, SnapshotWriter


@pytest.mark.parametrize("bad", [[{"name": "x", "polygon": [[0, 0], [1, 1]]}], [{"polygon": [[0, 0], [1, 0], [1, 1]]}]])
def test_set_zones_rejects_bad_zones_without_a_running_service(bad):
    from maskwatch.config import AppConfig
    from maskwatch.core.errors import UserError
    from maskwatch.service import Service

    service = Service(AppConfig.model_validate({"cameras": [{"name": "c", "source": 0}]}))
    with pytest.raises(UserError, match="zones"):
        service.set_zones("c", bad)
    service.set_zones("c", [{"name": "z", "polygon": [[0, 0], [1, 0], [1, 1]]}])
    assert service.zones("c") == [
        {
            "name": "z",
            "polygon": [[0, 0], [1, 0], [1, 1]],
            "restricted": True,
            "hours": [],
            "alert_labels": None,
            "ignore": False,
        }
    ]


def test_service_applies_retention_at_start_and_reports_offline_sources(tmp_path):
    from maskwatch.config import AppConfig
    from maskwatch.service import Service

    cfg = AppConfig.model_validate(
        {
            "cameras": [{"name": "gone", "source": str(tmp_path / "missing.mp4")}],
            "sinks": {"log": False},
            "storage": {"database": str(tmp_path / "e.db"), "snapshots": str(tmp_path / "s"), "retention_days": 2},
        }
    )
    store = EventStore(cfg.storage.database)
    snaps = SnapshotWriter(cfg.storage.snapshots)
    now = time.time()
    old = store.add(
        now - 3 * 86400,
        "gone",
        "frame",
        1,
        "no_mask",
        0.9,
        snaps.write(np.zeros((8, 8, 3), np.uint8), [], 0, "gone", 1, now - 3 * 86400),
    )
    recent = store.add(now - 86400, "gone", "frame", 2, "incorrect", 0.8, None)
    store.close()
    service = Service(cfg)
    service.start()
    try:

        def snapshots_left() -> bool:
            try:
                return any((tmp_path / "s").rglob("*.jpg"))
            except FileNotFoundError:  # the retention job is removing the folders while we walk them
                return True

        assert wait_for(lambda: [e["id"] for e in service.events()] == [recent] and not snapshots_left(), 5)
        assert service.event(old) is None
        status = wait_for(lambda: service.camera_status()[0]["last_error"] and service.camera_status()[0], 5)
        assert not status["online"] and "not found" in status["last_error"] and status["frames_decoded"] == 0
        assert service.latest_jpeg("gone") is None and service.stats()["events_by_label"]["incorrect"] == 1
    finally:
        service.stop()
    assert service.closing.is_set() and not service.running
