"""Faults: a camera file deleted mid-run, SIGTERM to `serve`, cameras failing independently."""

from __future__ import annotations

import http.client
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import yaml

from helpers_service.clips import write_clip
from helpers_service.fixtures import SEGMENTS
from helpers_service.servers import WebhookReceiver, free_port, port_open, wait_for
from maskwatch.config import load_config
from maskwatch.service import Service


def _status(service, name):
    return next(s for s in service.camera_status() if s["name"] == name)


def test_deleted_file_goes_offline_and_comes_back_others_unaffected(tmp_path, pipeline, andrewmvd):
    short = write_clip(tmp_path / "short.mp4", SEGMENTS[:1], seconds_each=1.0, fps=10)
    steady = write_clip(tmp_path / "steady.mp4", SEGMENTS[:1], seconds_each=1.0, fps=10)
    path = tmp_path / "maskwatch.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "cameras": [
                    {"name": "flaky", "source": str(short), "fps": 4, "reconnect_max_seconds": 1.0},
                    {"name": "steady", "source": str(steady), "fps": 4},
                    {"name": "missing", "source": str(tmp_path / "never.mp4"), "fps": 4, "reconnect_max_seconds": 1.0},
                ],
                "sinks": {"log": False},
                "storage": {"database": "d/e.db", "snapshots": "d/s"},
            }
        )
    )
    service = Service(load_config(path), path, pipeline=pipeline)
    service.start()
    try:
        assert wait_for(lambda: _status(service, "flaky")["online"] and _status(service, "steady")["online"], 10)
        missing = wait_for(lambda: _status(service, "missing")["last_error"] and _status(service, "missing"), 5)
        assert not missing["online"] and "not found" in missing["last_error"]

        hidden = short.with_suffix(".gone")
        short.rename(hidden)  # the file disappears: the reader hits the end of what it had open, cannot reopen
        assert wait_for(lambda: not _status(service, "flaky")["online"], 5), "camera still online after its file went"
        offline = _status(service, "flaky")
        assert "not found" in offline["last_error"]
        decoded_steady = _status(service, "steady")["frames_decoded"]
        time.sleep(1.0)
        assert _status(service, "steady")["online"] and _status(service, "steady")["frames_decoded"] > decoded_steady

        hidden.rename(short)
        assert wait_for(lambda: _status(service, "flaky")["online"], 5), "camera did not come back"
        back = _status(service, "flaky")
        assert back["last_error"] is None and back["frames_decoded"] > offline["frames_decoded"]
        assert wait_for(lambda: _status(service, "flaky")["frames_analysed"] > offline["frames_analysed"], 5)
    finally:
        service.stop()


def test_webhooks_that_ask_are_told_when_a_camera_is_down_and_back(tmp_path, pipeline, andrewmvd):
    clip = write_clip(tmp_path / "door.mp4", SEGMENTS[:1], seconds_each=1.0, fps=10)
    told, alerts_only = WebhookReceiver(), WebhookReceiver()
    path = tmp_path / "maskwatch.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "cameras": [{"name": "door", "source": str(clip), "fps": 4, "reconnect_max_seconds": 0.5}],
                "sinks": {
                    "log": False,
                    "camera_offline_seconds": 1.5,
                    "webhooks": [{"url": told.url, "camera_status": True}, {"url": alerts_only.url}],
                },
                "storage": {"database": "d/e.db", "snapshots": "d/s"},
            }
        )
    )
    service = Service(load_config(path), path, pipeline=pipeline)
    service.start()

    def notices(receiver):
        with receiver.lock:
            return [m for m in receiver.received if m.get("type") == "camera_status"]

    try:
        assert wait_for(lambda: _status(service, "door")["online"], 10)
        hidden = clip.with_suffix(".gone")
        clip.rename(hidden)
        gone = time.time()
        assert wait_for(lambda: notices(told), 10), "no outage notice"
        (down,) = notices(told)
        assert down["camera"] == "door" and down["online"] is False and "not found" in down["last_error"]
        assert not _status(service, "door")["online"]
        hidden.rename(clip)
        assert wait_for(lambda: len(notices(told)) == 2, 10), "no notice that the camera is back"
        back = notices(told)[1]
        assert back["online"] is True and back["offline_since"] == down["offline_since"] and back["last_error"] is None
        assert 1.5 <= back["offline_seconds"] <= time.time() - gone + 1
        assert notices(alerts_only) == []  # a webhook that did not ask gets alerts only
    finally:
        service.stop()
        told.close()
        alerts_only.close()


def _serve(config: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "maskwatch", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


class StreamClient(threading.Thread):
    """Holds an MJPEG stream open (as a browser would) while the service is told to stop."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.bytes = url, 0

    def run(self):
        try:
            with urllib.request.urlopen(self.url, timeout=10) as response:
                while chunk := response.read(4096):
                    self.bytes += len(chunk)
        except (OSError, http.client.HTTPException):  # cut at shutdown
            pass


def _count(db: Path) -> int:
    if not db.is_file():
        return 0
    with sqlite3.connect(db) as con:
        try:
            return con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_sigterm_stops_within_5s_and_keeps_events(tmp_path, test_clip):
    """With the web UI and a live MJPEG viewer connected: the slowest case to shut down."""
    port, token = free_port(), "sigterm-test-token"
    config = tmp_path / "maskwatch.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "ui": {"port": port, "token": token},
                "cameras": [{"name": "cam", "source": str(test_clip), "fps": 5}],
                "detector": {"threads": 1},
                "rules": {"min_seconds": 0.3, "cooldown_seconds": 0.5},
                "storage": {"database": "data/events.db", "snapshots": "data/snaps"},
            }
        )
    )
    db = tmp_path / "data" / "events.db"
    proc = _serve(config)
    try:
        assert wait_for(lambda: _count(db) >= 2 or proc.poll() is not None, 40), "no events within 40 s"
        assert proc.poll() is None, proc.stdout.read()
        assert wait_for(lambda: port_open(port), 10), "the web UI did not start"
        viewer = StreamClient(f"http://127.0.0.1:{port}/api/cameras/cam/stream?token={token}")
        viewer.start()
        assert wait_for(lambda: viewer.bytes > 1000, 10), "the MJPEG stream sent nothing"
        seen = _count(db)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert took < 5, f"SIGTERM took {took:.1f} s"
    assert proc.returncode == 0, out
    assert "maskwatch: stopped" in out and "Traceback" not in out
    assert token not in out and "access token: ui.token in the config" in out  # a set token is not logged
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT label, snapshot FROM events").fetchall()
    assert len(rows) >= seen
    assert all((tmp_path / "data" / "snaps" / snap).is_file() for _, snap in rows)
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed on the way out
