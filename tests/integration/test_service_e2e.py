"""End to end: a clip served as a camera → tracked faces → zone rules → SQLite, a real mosquitto, a webhook receiver.

The clip (built from CC0 photos) shows unmasked faces in the restricted left zone 'door' and in the unrestricted
right zone 'hall', then a masked face in 'door': every event must be no_mask in 'door'.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import av
import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
import yaml
from prometheus_client import generate_latest

from helpers_service.requires import require
from helpers_service.servers import Mosquitto, WebhookReceiver, wait_for
from maskwatch.config import load_config
from maskwatch.core.errors import UserError
from maskwatch.detect import RetinaFaceDetector
from maskwatch.detect.anchors import box_iou
from maskwatch.service import Service

SECRET = "test-secret"
DOOR = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
HALL = [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]


class Subscriber:
    """A persistent-session MQTT subscriber: QoS 1 messages published while it is away are queued by the broker."""

    def __init__(self, port: int):
        self.messages: list[dict] = []
        self.status: dict[str, object] = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="maskwatch-test-sub", clean_session=False)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            [("maskwatch/+/event", 1), ("maskwatch/+/status", 0), ("maskwatch/+/snapshot", 0), ("homeassistant/#", 0)]
        )
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        with self.lock:
            if message.topic.endswith("/snapshot"):  # JPEG bytes
                self.status[message.topic] = message.payload
            elif message.topic == "maskwatch/service/status":  # plain online/offline (Home Assistant availability)
                self.status[message.topic] = message.payload.decode()
            elif message.topic.startswith("homeassistant/") or message.topic.endswith("/status"):
                self.status[message.topic] = json.loads(message.payload)
            else:
                self.messages.append({"topic": message.topic, **json.loads(message.payload)})

    def ids(self) -> set[int]:
        with self.lock:
            return {m["id"] for m in self.messages}

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory, pipeline, test_clip):
    require(Mosquitto.available(), "the mosquitto broker", "Debian package 'mosquitto'")
    tmp = tmp_path_factory.mktemp("service")
    broker = Mosquitto(tmp / "broker")
    broker.start()
    subscriber = Subscriber(broker.port)
    wait_for(subscriber.client.is_connected, 5)
    webhook = WebhookReceiver(secret=SECRET, fail_first=2)
    config_path = tmp / "maskwatch.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "cameras": [
                    {
                        "name": "door-cam",
                        "source": str(test_clip),
                        "fps": 5,
                        "zones": [
                            {"name": "door", "polygon": DOOR, "restricted": True},
                            {"name": "hall", "polygon": HALL, "restricted": False},
                        ],
                    }
                ],
                "detector": {"input_size": 640, "threads": 1},
                "rules": {"min_seconds": 0.5, "cooldown_seconds": 1.0},
                "sinks": {
                    "mqtt": {"host": "127.0.0.1", "port": broker.port, "home_assistant": True, "snapshots": True},
                    "webhooks": [{"url": webhook.url, "secret": SECRET, "snapshots": True}],
                    "retry_seconds": 1.0,
                },
                "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
                "clips": {"enabled": True, "max_seconds": 12},  # short clips: each alert's clip is written soon
            },
            sort_keys=False,
        )
    )
    service = Service(load_config(config_path), config_path, pipeline=pipeline)
    heard: list[dict] = []
    service.add_event_listener(heard.append)
    service.start()
    yield {
        "service": service,
        "broker": broker,
        "subscriber": subscriber,
        "webhook": webhook,
        "heard": heard,
        "config_path": config_path,
        "clip": test_clip,
    }
    started = time.monotonic()
    service.stop()
    assert time.monotonic() - started < 5
    subscriber.close()
    webhook.close()
    broker.stop()


@pytest.fixture(scope="module")
def faces_shown(world):
    """faces_shown(image): the boxes in `image` where the detector finds one of the clip's people. (Its wallpaper has
    a 12 px rose that the detector scores up to 0.7 as a face: that is not a person.)"""
    detector = RetinaFaceDetector(input_size=1024, min_score=0.5)
    cap = cv2.VideoCapture(str(world["clip"]))
    people, unblurred = [], []  # as found in the clip's frames: one per segment and side
    for i in range(int(cap.get(cv2.CAP_PROP_FRAME_COUNT))):
        ok, image = cap.read()
        if ok and i % 20 == 5:
            people += [b for b in detector.detect(image).xyxy if b[2] - b[0] >= 40]
            unblurred.append(image)
    assert len(people) >= 4, "the clip's frames have faces"

    def shown(image: np.ndarray) -> np.ndarray:
        found = detector.detect(image).xyxy
        return found[box_iou(found, np.array(people)).max(axis=1, initial=0.0) >= 0.1]

    assert all(len(shown(image)) == 2 for image in unblurred)  # it sees both people where nothing hides them
    return shown


def test_events_reach_sqlite_with_right_labels_and_zones(world):
    service = world["service"]
    events = wait_for(lambda: len(service.events()) >= 3 and service.events(), 30)
    assert len(events) >= 3, "no alerts within 30 s"
    assert {e["label"] for e in events} == {"no_mask"}
    assert {e["zone"] for e in events} == {"door"}
    assert {e["camera"] for e in events} == {"door-cam"}
    assert {e["model_version"] for e in events} == {service.pipeline.classifier.version}  # the model that judged
    for e in events:
        x1, _, x2, _ = e["box"]
        assert (x1 + x2) / 2 < 320, "an event from the unrestricted right half"
        assert e["track_id"] >= 1 and 0.5 <= e["confidence"] <= 1
    assert service.events(zone="hall") == [] and service.events(label="mask") == []
    assert service.event(events[0]["id"])["id"] == events[0]["id"]
    assert service.event(10**9) is None
    assert {e["id"] for e in world["heard"]} >= {e["id"] for e in events}


def test_compliance_counts_people_in_restricted_and_open_zones(world):
    """The clip's first faces, unmasked, in 'door' (restricted) and 'hall' (open). (Its later faces take the places of
    these ones, so the tracker carries their track ids on, and they are not counted again.)"""
    service = world["service"]

    def counted():
        return {
            (r["zone"], label)
            for r in service.compliance(days=1, bucket="all")
            for label in ("mask", "no_mask", "incorrect")
            if r[label]
        }

    assert wait_for(lambda: {("door", "no_mask"), ("hall", "no_mask")} <= counted(), 30), counted()


def test_mqtt_and_webhook_get_every_event_with_valid_signature(world):
    service, webhook, subscriber = world["service"], world["webhook"], world["subscriber"]
    ids = {e["id"] for e in service.events(limit=1000)}
    assert ids
    assert wait_for(lambda: ids <= subscriber.ids() and ids <= webhook.ids(), 20)
    assert webhook.bad_signatures == 0
    for body in list(webhook.received):  # the signed body carries the stored snapshot, faces hidden
        assert base64.b64decode(body["snapshot_jpeg"]) == service.snapshot_path(body["id"]).read_bytes()
    assert (
        webhook.requests > len(webhook.received) - 1 >= 0 and webhook.requests >= 3
    )  # the first 2 got 503 and were retried
    message = next(m for m in subscriber.messages if m["id"] in ids)
    assert (
        message["topic"] == "maskwatch/door-cam/event"
        and message["label"] == "no_mask"
        and "delivered" not in message
        and "review" not in message
        and message["model_version"] == service.model_version
    )
    assert {body["model_version"] for body in webhook.received} == {service.model_version}
    assert wait_for(lambda: all(all(e["delivered"].values()) for e in service.events(limit=1000) if e["id"] in ids), 10)
    # retained states for dashboards (Home Assistant, Node-RED)
    assert wait_for(lambda: subscriber.status.get("maskwatch/service/status") == "online", 5)
    state = wait_for(lambda: subscriber.status.get("maskwatch/door-cam/status"), 5)
    assert state["online"] is True and state["faces"] == state["masked"] + state["unmasked"]
    # Home Assistant discovery: entities read those topics
    unmasked = subscriber.status["homeassistant/sensor/maskwatch_door-cam_unmasked/config"]
    assert (
        unmasked["state_topic"] == "maskwatch/door-cam/status"
        and unmasked["value_template"] == "{{ value_json.unmasked }}"
    )
    alert = subscriber.status["homeassistant/event/maskwatch_door-cam_alert/config"]
    assert alert["state_topic"] == "maskwatch/door-cam/event" and alert["event_types"] == ["no_mask", "incorrect"]
    assert (
        subscriber.status["homeassistant/binary_sensor/maskwatch_door-cam_online/config"]["device_class"]
        == "connectivity"
    )
    image = subscriber.status["homeassistant/image/maskwatch_door-cam_snapshot/config"]
    assert image["image_topic"] == "maskwatch/door-cam/snapshot" and image["content_type"] == "image/jpeg"
    # the last alert's snapshot, retained: byte for byte one of the stored (blurred) snapshots
    jpeg = wait_for(lambda: subscriber.status.get("maskwatch/door-cam/snapshot"), 5)
    stored = {service.snapshot_path(e["id"]).read_bytes() for e in service.events(limit=1000) if e["snapshot"]}
    assert jpeg in stored and cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape[2] == 3


def test_broker_stopped_and_restarted_loses_no_event(world):
    service, broker, subscriber = world["service"], world["broker"], world["subscriber"]
    broker.stop()
    before = max(e["id"] for e in service.events(limit=1))
    # alerts keep coming while the broker is down: they are stored and marked undelivered for mqtt
    assert wait_for(lambda: len([e for e in service.events() if e["id"] > before]) >= 2, 30)
    undelivered = [e for e in service.events(limit=1000) if not e["delivered"]["mqtt"]]
    assert undelivered, "events made while the broker was down should wait in the outbox"
    assert all(e["delivered"]["log"] for e in undelivered)  # other sinks are not held up
    broker.start()
    ids = {e["id"] for e in service.events(limit=1000)}
    assert wait_for(lambda: ids <= subscriber.ids(), 30), f"lost: {sorted(ids - subscriber.ids())}"
    assert wait_for(lambda: all(e["delivered"]["mqtt"] for e in service.events(limit=1000) if e["id"] in ids), 10)


def test_snapshots_show_no_face(world, faces_shown):
    service = world["service"]
    events = service.events(limit=5)
    assert events
    for e in events:
        path = service.snapshot_path(e["id"])
        assert path is not None and path.is_file()
        snapshot = cv2.imread(str(path))
        assert snapshot.shape == (360, 640, 3)
        assert len(faces_shown(snapshot)) == 0, f"snapshot {path.name}: faces found at {faces_shown(snapshot)}"


def test_alerts_get_a_clip_with_every_face_hidden(world, faces_shown):
    service = world["service"]
    # a clip is written after_seconds past its last alert, then encoded on a thread of its own: slow on a busy machine
    events = wait_for(lambda: [e for e in service.events(limit=1000) if e["clip"]], 90)
    assert events, "no alert got a clip within 90 s"
    by_clip: dict[str, list[dict]] = {}
    for e in events:
        by_clip.setdefault(e["clip"], []).append(e)
    for rel, shown in by_clip.items():
        with av.open(str(service.clip_path(shown[0]["id"]))) as container:
            stream = container.streams.video[0]
            frames = [(float(f.time), f.to_ndarray(format="bgr24")) for f in container.decode(stream)]
        assert stream.codec_context.name == "vp8" and (stream.width, stream.height) == (640, 360)
        span = frames[-1][0] - frames[0][0]
        # 3 s before the first alert (fewer at the service's start), until 5 s after the last (at most 12 s long)
        assert 5.0 - 0.5 <= span <= 12.0 + 0.5 and len(frames) >= 4 * span, (rel, span, len(frames))
        for _, image in frames[::4]:
            assert len(faces_shown(image)) == 0, f"clip {rel}: faces found at {faces_shown(image)}"
    assert wait_for(
        lambda: all(e["clip"] for e in service.events(limit=1000) if e["timestamp"] < time.time() - 15), 30
    ), "an alert older than 15 s has no clip"
    counts = service.stats()["clips"]
    assert counts["written"] >= len(by_clip) and counts["dropped"] == 0


def test_live_view_and_camera_status(world, faces_shown):
    service = world["service"]
    status = wait_for(lambda: [s for s in service.camera_status() if s["frames_analysed"] > 5], 10)
    s = status[0]
    assert s["name"] == "door-cam" and s["online"] and (s["width"], s["height"]) == (640, 360)
    assert s["frames_decoded"] >= s["frames_analysed"] and s["frames_dropped"] >= 0 and s["last_error"] is None
    assert 1 <= s["fps_analysed"] <= 6  # the camera asks for 5 fps (less when the machine is busy, never more)
    assert s["faces"] == s["masked"] + s["unmasked"]
    annotated = cv2.imdecode(np.frombuffer(service.latest_jpeg("door-cam"), np.uint8), cv2.IMREAD_COLOR)
    plain = cv2.imdecode(np.frombuffer(service.latest_jpeg("door-cam", annotated=False), np.uint8), cv2.IMREAD_COLOR)
    assert annotated.shape == plain.shape == (360, 640, 3)
    assert np.abs(annotated.astype(int) - plain).sum() > 0  # boxes and zones drawn
    assert len(faces_shown(plain)) == 0  # blur_live is on by default
    assert service.latest_jpeg("no-such-camera") is None


def test_stats_and_metrics(world):
    service = world["service"]
    stats = service.stats()
    assert stats["events_total"] >= 3 and stats["events_by_label"]["no_mask"] == stats["events_total"]
    assert stats["providers"] == ["CPUExecutionProvider"] and stats["uptime_seconds"] > 0
    assert stats["cameras"]["door-cam"]["online"] and set(stats["sinks"]) == {"log", "mqtt", "webhook0"}
    assert stats["model_version"] == service.pipeline.classifier.version
    text = generate_latest(service.metrics_registry).decode()
    assert f'maskwatch_classifier_info{{version="{stats["model_version"]}"}} 1.0' in text
    assert 'maskwatch_camera_online{camera="door-cam"} 1.0' in text
    assert 'maskwatch_frames_decoded_total{camera="door-cam"}' in text
    counted = next(
        line
        for line in text.splitlines()
        if line.startswith('maskwatch_events_total{camera="door-cam",label="no_mask"}')
    )
    assert float(counted.split()[-1]) >= stats["events_total"]  # alerts may have come in between
    assert 'maskwatch_sink_pending{sink="mqtt"}' in text and "maskwatch_uptime_seconds" in text


def test_set_zones_applies_live_and_saves_yaml(world):
    service, path = world["service"], world["config_path"]
    with pytest.raises(UserError, match=r"outside 0\.\.1"):
        service.set_zones("door-cam", [{"name": "bad", "polygon": [[0, 0], [2, 0], [1, 1]]}])
    with pytest.raises(UserError, match="no camera"):
        service.set_zones("nope", [])
    # the whole frame unrestricted: alerts stop
    service.set_zones("door-cam", [{"name": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "restricted": False}])
    saved = yaml.safe_load(path.read_text())["cameras"][0]["zones"]
    assert saved == [{"name": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "restricted": False}]
    assert load_config(path).cameras[0].zones[0].name == "all"
    time.sleep(0.5)  # a frame in flight may still use the old zones
    last = service.events(limit=1)[0]["id"]
    time.sleep(3)
    assert [e for e in service.events() if e["id"] > last] == []
    assert service.zones("door-cam")[0]["restricted"] is False


def test_faces_in_an_ignored_zone_are_hidden_and_nothing_else(world, faces_shown):
    """The left half ignored (say a poster hangs there) inside a restricted whole frame: only the right half's
    faces are tracked and alert; the left one is still hidden."""
    service = world["service"]
    service.set_zones(
        "door-cam",
        [
            {"name": "door", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]},
            {"name": "poster", "polygon": DOOR, "ignore": True},
        ],
    )
    time.sleep(0.5)  # a frame in flight may still use the old zones
    last = max((e["id"] for e in service.events(limit=1)), default=0)
    fresh = wait_for(lambda: (new := [e for e in service.events() if e["id"] > last]) and len(new) >= 2 and new, 20)
    assert fresh, "no alert from the right half within 20 s"
    assert all((e["box"][0] + e["box"][2]) / 2 > 320 and e["zone"] == "door" for e in fresh), fresh
    tracked = []
    for _ in range(10):
        tracked.append(service.camera_status()[0]["faces"])
        time.sleep(0.2)
    assert max(tracked) == 1, tracked  # two people in every frame, one of them left out
    plain = cv2.imdecode(np.frombuffer(service.latest_jpeg("door-cam", annotated=False), np.uint8), cv2.IMREAD_COLOR)
    assert len(faces_shown(plain)) == 0
