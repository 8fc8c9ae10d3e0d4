"""Alert sinks (log, MQTT, webhooks, e-mail, Apprise push) and the outbox that retries them until delivered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from maskwatch.sinks.base import LogSink, Sink, SinkContext, StatusSink, SummarySink, encode, payload
from maskwatch.sinks.camera_notices import CameraNotices, OutageWatch
from maskwatch.sinks.email import EmailSink
from maskwatch.sinks.mqtt import MqttSink
from maskwatch.sinks.outbox import Outbox
from maskwatch.sinks.push import AppriseSink
from maskwatch.sinks.webhook import SIGNATURE_HEADER, WebhookSink, sign, verify

if TYPE_CHECKING:
    from maskwatch.config import SinksConfig

__all__ = [
    "SIGNATURE_HEADER",
    "SINK_TYPES",
    "AppriseSink",
    "CameraNotices",
    "EmailSink",
    "LogSink",
    "MqttSink",
    "OutageWatch",
    "Outbox",
    "Sink",
    "SinkContext",
    "StatusSink",
    "SummarySink",
    "WebhookSink",
    "encode",
    "make_sinks",
    "payload",
    "sign",
    "verify",
]


# sinks.<field> in the config -> the sink class built from each entry (a mapping, a list of them, or unset)
class SinkType(Protocol):
    """A sink class: builds its sink from its config section."""

    def from_config(self, section: Any, context: SinkContext, index: int = 0, /) -> Sink: ...


SINK_TYPES: dict[str, SinkType] = {
    "mqtt": MqttSink,
    "webhooks": WebhookSink,
    "email": EmailSink,
    "apprise": AppriseSink,
}


def make_sinks(
    config: SinksConfig,
    cameras: Iterable[str] = (),
    snapshot_file: Callable[[str | None], Path | None] | None = None,
    tz: tzinfo | None = None,
) -> list[Sink]:
    """The sinks a SinkConfig asks for, each built by its class's from_config; `snapshot_file` maps an event's
    snapshot name to its file (or None); `tz`: the time zone of times written for people (None: the machine's).
    A sink's `cameras` (None: all) routes to it only those cameras' events and notices."""
    context = SinkContext(tuple(cameras), snapshot_file, tz)
    sinks: list[Sink] = [LogSink()] if config.log else []
    for field, kind in SINK_TYPES.items():
        entries = getattr(config, field)
        for index, entry in enumerate(entries if isinstance(entries, list) else [entries] if entries else []):
            sinks.append(kind.from_config(entry, context, index))
    return sinks
