"""Alert sinks (log, MQTT, webhooks, e-mail) and the outbox that retries them until delivered."""

from maskwatch.sinks.base import LogSink, Sink, encode, payload
from maskwatch.sinks.camera_notices import CameraNotices, OutageWatch
from maskwatch.sinks.email import EmailSink
from maskwatch.sinks.mqtt import MqttSink
from maskwatch.sinks.outbox import Outbox
from maskwatch.sinks.webhook import SIGNATURE_HEADER, WebhookSink, sign, verify

__all__ = [
    "CameraNotices",
    "EmailSink",
    "LogSink",
    "MqttSink",
    "OutageWatch",
    "Outbox",
    "SIGNATURE_HEADER",
    "Sink",
    "WebhookSink",
    "encode",
    "payload",
    "sign",
    "verify",
    "make_sinks",
]


def make_sinks(config, cameras: list[str] = (), snapshot_file=None, tz=None) -> list:
    """The sinks a SinksConfig asks for; `snapshot_file` maps an event's snapshot name to its file (or None); `tz`:
    the time zone of times written for people (None: the machine's). A sink's `cameras` (None: all) routes to it
    only those cameras' events and notices."""
    sinks: list = []
    if config.log:
        sinks.append(LogSink())
    if config.mqtt:
        m = config.mqtt
        discovery = (m.discovery_prefix, list(cameras)) if m.home_assistant else None
        sinks.append(
            MqttSink(
                m.host,
                m.port,
                m.username,
                m.password,
                m.topic_prefix,
                m.qos,
                m.client_id,
                m.tls,
                discovery=discovery,
                snapshot_file=snapshot_file if m.snapshots else None,
            )
        )
    for i, w in enumerate(config.webhooks):
        sinks.append(
            WebhookSink(
                w.url,
                w.secret,
                w.timeout_seconds,
                w.name,
                i,
                snapshot_file if w.snapshots else None,
                w.camera_status,
                text=w.format == "text",
                tz=tz,
                cameras=w.cameras,
            )
        )
    for i, e in enumerate(config.email):
        sinks.append(
            EmailSink(
                e.host,
                e.port,
                e.security,
                e.username,
                e.password,
                e.sender,
                e.to,
                e.timeout_seconds,
                snapshot_file if e.snapshots else None,
                e.camera_status,
                tz,
                name=f"email:{e.name}" if e.name else f"email{i}",
                cameras=e.cameras,
            )
        )
    return sinks
