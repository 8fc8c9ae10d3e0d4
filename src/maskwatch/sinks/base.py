"""Where alerts go besides the store. A sink's send() returns only once the event is delivered, else raises."""

from __future__ import annotations

import json
import logging
from datetime import datetime, tzinfo
from typing import Protocol

from maskwatch.core.labels import DISPLAY

log = logging.getLogger("maskwatch.alerts")


class Sink(Protocol):
    name: str
    cameras: frozenset[str] | None  # the cameras whose events (and notices) it gets; None: all
    camera_status: bool  # also given camera outage notices (post()), see camera_notices

    def send(self, event: dict) -> None: ...

    def close(self) -> None: ...


def payload(event: dict) -> dict:
    """The JSON sent to MQTT and webhooks: the alert as raised, without the store's delivery state and review."""
    return {k: v for k, v in event.items() if k not in ("delivered", "review")}


def encode(event: dict) -> bytes:
    return json.dumps(payload(event), separators=(",", ":"), sort_keys=True).encode()


def _local(iso_time: str, tz: tzinfo | None) -> str:
    return datetime.fromisoformat(iso_time).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def one_line(message: dict, tz: tzinfo | None = None) -> str:
    """An alert or a camera notice as one line for people, times in `tz` (None: the machine's)."""
    if message.get("type") == "camera_status":
        since = _local(message["offline_since"], tz)
        if message["online"]:
            return f"Camera {message['camera']} is back online after {message['offline_seconds']:.0f} s (offline since {since})"
        return f"Camera {message['camera']} is offline since {since}: {message['last_error']}"
    return (
        f"{DISPLAY.get(message['label'], message['label'])} at camera {message['camera']}, zone {message['zone']}, "
        f"{_local(message['time'], tz)} (confidence {message['confidence']:.0%}, track {message['track_id']}, "
        f"event {message['id']})"
    )


class LogSink:
    name = "log"
    cameras, camera_status = None, False

    def send(self, event: dict) -> None:
        log.warning(
            "ALERT %s camera=%s zone=%s track=%s label=%s confidence=%.2f",
            event["time"],
            event["camera"],
            event["zone"],
            event["track_id"],
            event["label"],
            event["confidence"] or 0,
        )

    def close(self) -> None:
        pass
