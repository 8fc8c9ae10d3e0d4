"""Where alerts go besides the store. A sink's send() returns only once the event is delivered, else raises."""

from __future__ import annotations

import json
import logging
from typing import Protocol

log = logging.getLogger("maskwatch.alerts")


class Sink(Protocol):
    name: str

    def send(self, event: dict) -> None: ...

    def close(self) -> None: ...


def payload(event: dict) -> dict:
    """The JSON sent to MQTT and webhooks: the alert as raised, without the store's delivery state and review."""
    return {k: v for k, v in event.items() if k not in ("delivered", "review")}


def encode(event: dict) -> bytes:
    return json.dumps(payload(event), separators=(",", ":"), sort_keys=True).encode()


class LogSink:
    name = "log"

    def send(self, event: dict) -> None:
        log.warning("ALERT %s camera=%s zone=%s track=%s label=%s confidence=%.2f", event["time"], event["camera"],
                    event["zone"], event["track_id"], event["label"], event["confidence"] or 0)

    def close(self) -> None:
        pass
