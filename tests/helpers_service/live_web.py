"""A real Service watching a clip of CC0 photos as its one camera, for the web tests that need live analysis and
alerts: with no zones (the whole frame restricted) no_mask alerts come within seconds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from maskwatch.config import load_config
from maskwatch.pipeline import MaskPipeline
from maskwatch.service import Service
from maskwatch.web import create_app

TOKEN = "test-token-4f9c"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
VIEWER = {"Authorization": "Bearer viewer-token-a81c"}


def running_service(folder: Path, pipeline: MaskPipeline, clip: Path) -> Iterator[dict]:
    """Yields {"service", "client", "config_path"} while the service runs; stops it after."""
    config_path = folder / "maskwatch.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "cameras": [{"name": "door-cam", "source": str(clip), "fps": 5}],
                "detector": {"input_size": 640, "threads": 1},
                "rules": {"min_seconds": 0.5, "cooldown_seconds": 2.0},
                "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
                "clips": {"enabled": True, "max_seconds": 12},  # short clips: each alert's clip is written soon
                # the tests of 401s send dozens of wrong tokens; the refusal after too many has its own test and app
                "ui": {"token": TOKEN, "viewer_token": VIEWER["Authorization"][7:], "wrong_tokens_per_minute": 0},
            },
            sort_keys=False,
        )
    )
    service = Service(load_config(config_path), config_path, pipeline=pipeline)
    service.start()
    try:
        yield {"service": service, "client": TestClient(create_app(service)), "config_path": config_path}
    finally:
        service.stop()
