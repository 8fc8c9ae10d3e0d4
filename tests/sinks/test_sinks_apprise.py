"""The Apprise sink against a real local HTTP receiver: Apprise's json:// (attachments) and gotify:// (none)."""

from __future__ import annotations

import base64
import time
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest

from helpers_service.notices import offline_notice
from helpers_service.servers import WebhookReceiver, free_port, wait_for
from maskwatch.config import parse_config
from maskwatch.core.errors import UserError
from maskwatch.events import EventStore, SnapshotWriter
from maskwatch.sinks import AppriseSink, Outbox, make_sinks


def _config(url: str, extra: str = "") -> str:
    return f"""
cameras: [{{name: door-cam, source: 0}}, {{name: hall, source: 1}}]
sinks:
  log: false
  apprise:
    - url: {url}
      cameras: [door-cam]{extra}
"""


def test_apprise_pushes_each_alert_with_its_snapshot_through_the_outbox(tmp_path):
    receiver = WebhookReceiver(fail_first=1)  # the first push is refused: the outbox retries it
    snaps = SnapshotWriter(tmp_path / "snaps")
    jpeg = cv2.imencode(".jpg", np.full((40, 40, 3), 90, np.uint8))[1].tobytes()
    snapshot = snaps.save(jpeg, "door-cam", 16, 1795801875.944)
    cfg = parse_config(_config(receiver.url.replace("http://", "json://"), "\n      camera_status: true"))
    (sink,) = make_sinks(cfg.sinks, ["door-cam", "hall"], snaps.resolve, ZoneInfo("Europe/Berlin"))
    assert isinstance(sink, AppriseSink) and (sink.name, sink.cameras, sink.camera_status) == (
        "apprise0",
        frozenset({"door-cam"}),
        True,
    )
    store = EventStore(tmp_path / "e.db", {sink.name: sink.cameras})
    outbox = Outbox(store, [sink], retry_start=0.2, retry_max=0.5)
    outbox.start()
    try:
        event_id = store.add(1795801875.944, "door-cam", "door", 16, "no_mask", 0.9874, snapshot)
        other = store.add(1795801876.0, "hall", None, 3, "no_mask", 0.9, None)
        outbox.notify()
        assert wait_for(lambda: store.pending("apprise0") == [], 10), outbox.last_error
        sink.post(offline_notice("door-cam"))
    finally:
        outbox.stop()
        outbox.join(3)
        receiver.close()
    assert receiver.requests == 3 and outbox.failures["apprise0"] == 1 and outbox.delivered["apprise0"] == 1
    assert set(store.get(other).delivered) == set()  # the hall camera's alerts do not go to this target
    store.close()
    alert, notice = receiver.received
    assert alert["title"] == "maskwatch: No mask at door-cam"
    assert alert["message"] == (
        f"No mask at camera door-cam, zone door, 2026-11-27 18:51:15 CET (confidence 99%, track 16, event {event_id})"
    )
    (attached,) = alert["attachments"]
    assert attached["mimetype"] == "image/jpeg" and base64.b64decode(attached["base64"]) == jpeg
    assert notice["title"] == "maskwatch: camera door-cam offline" and notice["attachments"] == []
    assert notice["message"].startswith("Camera door-cam is offline since 2026-11-27 18:50:00 CET")


def test_apprise_without_attachments_and_when_the_target_is_down(tmp_path):
    receiver = WebhookReceiver()
    snaps = SnapshotWriter(tmp_path / "snaps")
    snapshot = snaps.save(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes(), "door-cam", 1, 1e9)
    port = receiver.url.split(":")[2].split("/")[0]
    gotify = AppriseSink(f"gotify://127.0.0.1:{port}/Atoken1234567", snapshot_file=snaps.resolve, name="phone")
    down = AppriseSink(f"json://127.0.0.1:{free_port()}/hook", index=1)  # nothing listens there
    assert (gotify.name, gotify.attaches, down.name, down.attaches) == ("apprise:phone", False, "apprise1", True)
    store = EventStore(tmp_path / "e.db", ["apprise:phone", "apprise1"])
    outbox = Outbox(store, [gotify, down], retry_start=0.2, retry_max=0.5)
    outbox.start()
    try:
        event_id = store.add(time.time(), "door-cam", "door", 1, "incorrect", 0.8, snapshot)
        outbox.notify()
        assert wait_for(lambda: store.pending("apprise:phone") == [] and outbox.failures["apprise1"] >= 1, 10)
        assert [e.id for e in store.pending("apprise1")] == [event_id]  # kept until the target is back
        assert "127.0.0.1" in outbox.last_error["apprise1"] and "json://" not in outbox.last_error["apprise1"]
    finally:
        outbox.stop()
        outbox.join(3)
        receiver.close()
        store.close()
    (pushed,) = receiver.received  # Gotify's own body: no attachment, the alert's line as the message
    assert pushed["title"] == "maskwatch: Mask worn incorrectly at door-cam" and "zone door" in pushed["message"]


def test_apprise_config_errors_are_one_line():
    with pytest.raises(UserError, match=r":6: sinks.apprise\[0\].url: Apprise cannot use this nosuch:// URL"):
        parse_config(_config("nosuch://x"))
    with pytest.raises(UserError, match=r"sinks.apprise\[0\].cameras: no camera named lobby"):
        parse_config(
            "cameras: [{name: c, source: 0}]\nsinks: {apprise: [{url: 'ntfy://n.example/t', cameras: [lobby]}]}"
        )
    with pytest.raises(UserError, match=r"apprise: names repeat \(a, a\)"):
        parse_config(
            "cameras: [{name: c, source: 0}]\n"
            "sinks: {apprise: [{url: 'ntfy://n/t', name: a}, {url: 'ntfy://n/u', name: a}]}"
        )
    one = parse_config("cameras: [{name: c, source: 0}]\nsinks: {apprise: {url: 'ntfy://ntfy.example.org/ward-3'}}")
    assert [(a.url, a.snapshots, a.cameras) for a in one.sinks.apprise] == [
        ("ntfy://ntfy.example.org/ward-3", True, None)
    ]


def test_config_check_names_apprise_targets_without_their_tokens(tmp_path):
    from typer.testing import CliRunner

    from maskwatch.cli import app

    path = tmp_path / "c.yaml"
    path.write_text(
        "cameras: [{name: c, source: 0}]\nsinks: {apprise: [{url: 'tgram://123456789:abcdefg_hijklmnop/12315544/'}]}\n"
    )
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "sinks: log, apprise tgram://" in result.output and "abcdefg" not in result.output
