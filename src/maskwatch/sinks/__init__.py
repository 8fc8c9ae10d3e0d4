"""Alert sinks (log, MQTT, webhooks, e-mail, Apprise push) and the outbox that retries them until delivered."""

from maskwatch.sinks.base import LogSink, Sink, SinkContext, StatusSink, SummarySink, encode, payload
from maskwatch.sinks.camera_notices import CameraNotices, OutageWatch
from maskwatch.sinks.email import EmailSink
from maskwatch.sinks.mqtt import MqttSink
from maskwatch.sinks.outbox import Outbox
from maskwatch.sinks.push import AppriseSink
from maskwatch.sinks.webhook import SIGNATURE_HEADER, WebhookSink, sign, verify

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
SINK_TYPES = {"mqtt": MqttSink, "webhooks": WebhookSink, "email": EmailSink, "apprise": AppriseSink}


def make_sinks(config, cameras=(), snapshot_file=None, tz=None) -> list:
    """The sinks a SinkConfig asks for, each built by its class's from_config; `snapshot_file` maps an event's
    snapshot name to its file (or None); `tz`: the time zone of times written for people (None: the machine's).
    A sink's `cameras` (None: all) routes to it only those cameras' events and notices."""
    context = SinkContext(tuple(cameras), snapshot_file, tz)
    sinks: list = [LogSink()] if config.log else []
    for field, kind in SINK_TYPES.items():
        entries = getattr(config, field)
        for index, entry in enumerate(entries if isinstance(entries, list) else [entries] if entries else []):
            sinks.append(kind.from_config(entry, context, index))
    return sinks
