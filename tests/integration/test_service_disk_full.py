"""An alert is never lost when its snapshot cannot be written (issue 18, finding 4): the snapshot folder on a full
600 kB tmpfs (where this runs as root and may mount one) or not a folder at all (a file in its way). The event is
stored and sent with `snapshot: null`, counted, logged once; the cooldown does not silence the person; no partial
file is left; and snapshots are written again once there is room."""

from __future__ import annotations

import logging
import os
import subprocess

import pytest
import yaml

from helpers_service.servers import WebhookReceiver, wait_for
from maskwatch.config import load_config
from maskwatch.service import Service


@pytest.fixture
def tiny_tmpfs(tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the file-in-the-way case runs everywhere)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(folder)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _service(tmp_path, snapshots, webhook, pipeline) -> Service:
    path = tmp_path / "maskwatch.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "cameras": [{"name": "door", "source": str(tmp_path / "clip.mp4"), "fps": 5}],
                "detector": {"input_size": 640, "threads": 1},
                "rules": {"min_seconds": 0.3, "cooldown_seconds": 1.0},
                "sinks": {"log": False, "webhooks": [{"url": webhook.url}], "retry_seconds": 1},
                "storage": {"database": str(tmp_path / "data" / "events.db"), "snapshots": str(snapshots)},
            }
        )
    )
    return Service(load_config(path), path, pipeline=pipeline)


def _kept_everything(service) -> bool:
    """Every alert the camera raised is an event in the store (none was dropped with its snapshot)."""
    raised = service.camera_status()[0]["events"]
    return raised > 0 and raised == len(service.events(limit=1000))


@pytest.mark.parametrize("fault", ["full_tmpfs", "not_a_folder"])
def test_alerts_are_kept_and_sent_when_snapshots_cannot_be_written(
    fault, tmp_path, request, pipeline, test_clip, caplog
):
    os.symlink(test_clip, tmp_path / "clip.mp4")
    if fault == "full_tmpfs":
        media = request.getfixturevalue("tiny_tmpfs")
        filler = media / "filler"
        filler.write_bytes(b"\0" * (600 * 1024 - 8 * 1024))  # 8 kB left: a snapshot is ~30 kB
        snapshots = media / "snapshots"
    else:
        filler = tmp_path / "in-the-way"
        filler.write_bytes(b"not a folder")
        snapshots = filler / "snapshots"
    webhook = WebhookReceiver()
    service = _service(tmp_path, snapshots, webhook, pipeline)
    caplog.set_level(logging.INFO, logger="maskwatch.service")
    service.start()
    try:
        assert wait_for(lambda: len(service.events(limit=1000)) >= 3, 40), "no alerts within 40 s"
        events = service.events(limit=1000)
        assert all(e["snapshot"] is None for e in events)
        assert wait_for(lambda: _kept_everything(service), 5), service.camera_status()[0]
        assert wait_for(lambda: {e["id"] for e in events} <= webhook.ids(), 10), "not sent"
        sent = {m["id"]: m for m in webhook.received}
        assert all(sent[e["id"]]["snapshot"] is None for e in events)
        stats = service.stats()
        assert stats["snapshots_failed"] >= len(events)
        metrics = service.metrics_registry.get_sample_value("maskwatch_snapshots_failed_total")
        assert metrics >= len(events)
        said = [r for r in caplog.records if "snapshot not written" in r.getMessage()]
        assert len(said) == 1 and said[0].levelno == logging.WARNING  # once, not once per alert
        assert not list(tmp_path.rglob("*.part")), "a partial snapshot was left behind"

        filler.unlink()  # room again (or the folder's way cleared)
        last = service.events(limit=1)[0]["id"]
        shown = wait_for(lambda: [e for e in service.events(limit=1000) if e["id"] > last and e["snapshot"]], 30)
        assert shown and service.snapshot_path(shown[0]["id"]).is_file(), "snapshots are not written again"
        assert any("snapshots are written again" in r.getMessage() for r in caplog.records)
        assert wait_for(lambda: _kept_everything(service), 5)
    finally:
        service.stop()
        webhook.close()
