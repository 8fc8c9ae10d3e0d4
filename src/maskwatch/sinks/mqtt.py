"""MQTT (paho-mqtt 2.x): events on <prefix>/<camera>/event as JSON, QoS 1; camera states on <prefix>/<camera>/status;
optionally each alert's snapshot (faces hidden) as a retained JPEG on <prefix>/<camera>/snapshot."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from maskwatch.core.records import Event
from maskwatch.sinks.base import SinkContext, encode

if TYPE_CHECKING:
    from maskwatch.config import MqttConfig

log = logging.getLogger(__name__)


class MqttSink:
    name = "mqtt"
    cameras: frozenset[str] | None = None
    camera_status = False  # camera states go on their own retained topic

    def __init__(
        self,
        host: str,
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        topic_prefix: str = "maskwatch",
        qos: int = 1,
        client_id: str | None = None,
        tls: bool = False,
        publish_timeout: float = 5.0,
        discovery: tuple[str, list[str]] | None = None,
        snapshot_file: Callable[[str | None], Path | None] | None = None,
    ):
        self.prefix, self.qos, self.publish_timeout = topic_prefix.rstrip("/"), qos, publish_timeout
        self.discovery = discovery  # (Home Assistant discovery prefix, camera names) or None
        self.snapshot_file = snapshot_file  # None: snapshots are not published
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "", clean_session=True)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set()
        self.client.will_set(f"{self.prefix}/service/status", "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    @classmethod
    def from_config(cls, m: MqttConfig, context: SinkContext, index: int = 0) -> MqttSink:
        return cls(
            m.host,
            m.port,
            m.username,
            m.password,
            m.topic_prefix,
            m.qos,
            m.client_id,
            m.tls,
            discovery=(m.discovery_prefix, list(context.cameras)) if m.home_assistant else None,
            snapshot_file=context.snapshot_file if m.snapshots else None,
        )

    def ready(self) -> bool:
        return self.connected.is_set()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connection refused: %s", reason_code)
            return
        log.info("MQTT connected")
        self.connected.set()
        client.publish(f"{self.prefix}/service/status", "online", qos=1, retain=True)
        if self.discovery:
            prefix, cameras = self.discovery
            for topic, config in home_assistant_discovery(prefix, self.prefix, cameras, self.snapshot_file is not None):
                client.publish(topic, json.dumps(config), qos=1, retain=True)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.connected.is_set():
            log.warning("MQTT disconnected: %s", reason_code)
        self.connected.clear()

    def send(self, event: Event) -> None:
        if not self.connected.is_set():
            raise RuntimeError("MQTT broker not connected")
        # the snapshot first: a subscriber woken by the event finds its picture there, and a retry repeats both
        snapshot = self.snapshot_file(event.snapshot) if self.snapshot_file else None
        if snapshot is not None:
            self._publish(f"{self.prefix}/{event.camera}/snapshot", snapshot.read_bytes(), retain=True)
        self._publish(f"{self.prefix}/{event.camera}/event", encode(event))

    def _publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=self.qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise RuntimeError(f"MQTT publish failed: {mqtt.error_string(info.rc)}")
        info.wait_for_publish(timeout=self.publish_timeout)
        if not info.is_published():  # QoS 1: published means the broker acknowledged it
            raise RuntimeError(f"MQTT broker did not acknowledge {topic}")

    def publish_status(self, camera: str, status: dict) -> None:
        """Retained camera state for dashboards (best effort, not retried)."""
        if self.connected.is_set():
            self.client.publish(f"{self.prefix}/{camera}/status", json.dumps(status), qos=0, retain=True)

    def close(self) -> None:
        try:
            if self.connected.is_set():
                self.client.publish(f"{self.prefix}/service/status", "offline", qos=1, retain=True).wait_for_publish(1)
            self.client.disconnect()
        except Exception:  # noqa: BLE001 (closing must never raise)
            pass
        self.client.loop_stop()


def home_assistant_discovery(
    discovery_prefix: str, prefix: str, cameras: list[str], snapshots: bool = False
) -> list[tuple[str, dict]]:
    """Retained discovery configs: per camera, face counts, an online sensor, an alert event entity and, with
    snapshots, an image entity showing the last alert."""
    out = []
    availability = {"availability_topic": f"{prefix}/service/status"}
    for cam in cameras:
        device = {"identifiers": [f"maskwatch_{cam}"], "name": f"maskwatch {cam}", "manufacturer": "maskwatch"}
        common = {"device": device, **availability}
        out += _sensors(discovery_prefix, prefix, cam, common)
        if snapshots:
            out.append(
                (
                    f"{discovery_prefix}/image/maskwatch_{cam}_snapshot/config",
                    {
                        "name": "Last alert",
                        "unique_id": f"maskwatch_{cam}_snapshot",
                        "image_topic": f"{prefix}/{cam}/snapshot",
                        "content_type": "image/jpeg",
                        **common,
                    },
                )
            )
    return out


def _sensors(discovery_prefix: str, prefix: str, cam: str, common: dict) -> list[tuple[str, dict]]:
    """One camera's face counts, online state and alert event entity."""
    state = f"{prefix}/{cam}/status"
    out = [
        (
            f"{discovery_prefix}/sensor/maskwatch_{cam}_{key}/config",
            {
                "name": f"{key.capitalize()} faces",
                "unique_id": f"maskwatch_{cam}_{key}",
                "state_topic": state,
                "value_template": f"{{{{ value_json.{key} }}}}",
                "state_class": "measurement",
                **common,
            },
        )
        for key in ("faces", "masked", "unmasked")
    ]
    out.append(
        (
            f"{discovery_prefix}/binary_sensor/maskwatch_{cam}_online/config",
            {
                "name": "Camera online",
                "unique_id": f"maskwatch_{cam}_online",
                "state_topic": state,
                "device_class": "connectivity",
                "value_template": "{{ 'ON' if value_json.online else 'OFF' }}",
                **common,
            },
        )
    )
    out.append(
        (
            f"{discovery_prefix}/event/maskwatch_{cam}_alert/config",
            {
                "name": "Mask alert",
                "unique_id": f"maskwatch_{cam}_alert",
                "state_topic": f"{prefix}/{cam}/event",
                "event_types": ["no_mask", "incorrect"],
                **common,
                "value_template": '{ "event_type": "{{ value_json.label }}", "zone": "{{ value_json.zone }}", '
                '"confidence": {{ value_json.confidence }} }',
            },
        )
    )
    return out
