"""The camera notice the service hands its sinks when a camera goes offline, as the sink tests send it."""

from __future__ import annotations

from maskwatch.events import iso


def offline_notice(camera: str) -> dict:
    """`camera` offline since 18:50:00 CET on 2026-11-27 (Berlin), told ten seconds later."""
    return {
        "type": "camera_status",
        "camera": camera,
        "online": False,
        "offline_since": iso(1795801800.0),
        "last_error": "cannot open rtsp://***@10.0.0.5/s1",
        "time": iso(1795801810.0),
    }
