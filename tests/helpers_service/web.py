"""A real Service for the web tests that need its store but no camera: the event store, sinks and outbox run, the one
camera is disabled (so no shared photos are needed), and a few events are stored as the analysis would."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from maskwatch.config import load_config
from maskwatch.service import Service

TOKEN = "web-test-token-5e7d"
VIEWER_TOKEN = "web-viewer-token-19af"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def write_config(folder: Path, **ui) -> Path:
    path = folder / "maskwatch.yaml"
    config = {
        "cameras": [{"name": "door-cam", "source": str(folder / "none.mp4"), "enabled": False}],
        "detector": {"input_size": 320, "threads": 1},
        "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
        "ui": {"token": TOKEN, "viewer_token": VIEWER_TOKEN, **ui},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def started_service(folder: Path, events: int = 3, **ui) -> Service:
    """Started, with `events` alerts stored (ids 1..events)."""
    path = write_config(folder, **ui)
    service = Service(load_config(path), path)
    service.start()
    for i in range(events):
        service.store.add(time.time() - 60 + i, "door-cam", None, i, "no_mask", 0.9, None, (10, 10, 50, 50))
    return service
