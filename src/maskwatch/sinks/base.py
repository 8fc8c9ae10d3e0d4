"""Where alerts go besides the store. A sink's send() returns only once the event is delivered, else raises."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Protocol, runtime_checkable

from maskwatch.core.labels import DISPLAY
from maskwatch.core.records import Event

log = logging.getLogger("maskwatch.alerts")


class Sink(Protocol):
    name: str
    cameras: frozenset[str] | None  # the cameras whose events (and notices) it gets; None: all
    camera_status: bool  # also given camera outage notices (post()), see camera_notices

    def send(self, event: Event) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SinkContext:
    """What sinks are built with besides their config section."""

    cameras: tuple[str, ...] = ()  # the enabled cameras' names (Home Assistant discovery)
    snapshot_file: Callable[[str | None], Path | None] | None = None  # an event's snapshot name -> its file
    tz: tzinfo | None = None  # times written for people; None: the machine's


@runtime_checkable
class StatusSink(Protocol):
    """A sink that also shows each camera's current state (MQTT: a retained message per camera), best effort."""

    def ready(self) -> bool: ...

    def publish_status(self, camera: str, status: dict) -> None: ...


@runtime_checkable
class SummarySink(Protocol):
    """A sink that sends the daily summary (e-mail) at `daily_summary` (HH:MM in rules.timezone; None: not)."""

    name: str
    cameras: frozenset[str] | None
    daily_summary: str | None

    def send_text(self, subject: str, body: str) -> None: ...


def payload(message: Event | dict) -> dict:
    """The JSON sent to MQTT and webhooks: an alert as raised, without the store's delivery state and review (or
    a camera notice as it is)."""
    if isinstance(message, Event):
        return message.payload()
    return {k: v for k, v in message.items() if k not in ("delivered", "review")}


def encode(message: Event | dict) -> bytes:
    return json.dumps(payload(message), separators=(",", ":"), sort_keys=True).encode()


def _local(iso_time: str, tz: tzinfo | None) -> str:
    return datetime.fromisoformat(iso_time).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def one_line(message: dict, tz: tzinfo | None = None) -> str:
    """An alert or a camera notice as one line for people, times in `tz` (None: the machine's)."""
    if message.get("type") == "camera_status":
        since = _local(message["offline_since"], tz)
        if message["online"]:
            offline = f"{message['offline_seconds']:.0f} s"
            return f"Camera {message['camera']} is back online after {offline} (offline since {since})"
        return f"Camera {message['camera']} is offline since {since}: {message['last_error']}"
    return (
        f"{DISPLAY.get(message['label'], message['label'])} at camera {message['camera']}, zone {message['zone']}, "
        f"{_local(message['time'], tz)} (confidence {message['confidence']:.0%}, track {message['track_id']}, "
        f"event {message['id']})"
    )


class LogSink:
    name = "log"
    cameras: frozenset[str] | None = None
    camera_status = False

    def send(self, event: Event) -> None:
        log.warning(
            "ALERT %s camera=%s zone=%s track=%s label=%s confidence=%.2f",
            event.time,
            event.camera,
            event.zone,
            event.track_id,
            event.label,
            event.confidence or 0,
        )

    def close(self) -> None:
        pass
