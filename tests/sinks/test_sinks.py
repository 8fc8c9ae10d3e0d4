"""The alert sinks and their outbox: webhooks, camera notices, routing by camera, a hanging sink, Home Assistant."""

from __future__ import annotations

import json
import time

import pytest

from helpers_service.servers import WebhookReceiver, free_port, wait_for
from maskwatch.events import EventStore
from maskwatch.sinks import CameraNotices, LogSink, OutageWatch, Outbox, WebhookSink, encode, sign, verify


def test_webhook_signature_and_outbox_retry(tmp_path):
    body = encode({"id": 1, "label": "no_mask", "delivered": {"x": True}})
    assert json.loads(body) == {"id": 1, "label": "no_mask"}
    assert (
        sign(body, "k").startswith("sha256=")
        and verify(body, "k", sign(body, "k"))
        and not verify(body, "j", sign(body, "k"))
    )

    receiver = WebhookReceiver(secret="k", fail_first=1)
    down = WebhookSink(f"http://127.0.0.1:{free_port()}/hook", index=1, timeout=1)  # nothing listens there
    store = EventStore(tmp_path / "e.db", ["log", "webhook0", "webhook1"])
    outbox = Outbox(store, [LogSink(), WebhookSink(receiver.url, "k", index=0), down], retry_start=0.2, retry_max=0.5)
    outbox.start()
    try:
        ids = [store.add(time.time(), "cam", "door", i, "no_mask", 0.9, None) for i in range(3)]
        outbox.notify()
        assert wait_for(lambda: receiver.ids() == set(ids), 10)
        assert receiver.bad_signatures == 0 and receiver.requests == 4  # one 503, then three deliveries
        assert wait_for(lambda: store.pending("webhook0") == [] and store.pending("log") == [], 5)
        assert [e.id for e in store.pending("webhook1")] == ids  # the dead receiver keeps them all pending
        assert outbox.failures["webhook1"] >= 1 and "127.0.0.1" in outbox.last_error["webhook1"]
    finally:
        outbox.stop()
        outbox.join(3)
        receiver.close()
        store.close()


def test_text_webhooks_post_one_line_for_chat_tools(tmp_path):
    from zoneinfo import ZoneInfo

    from maskwatch.config import parse_config
    from maskwatch.core.errors import UserError
    from maskwatch.events import iso

    berlin = ZoneInfo("Europe/Berlin")
    store = EventStore(tmp_path / "e.db", ["webhook0"])
    event_id = store.add(1795801875.944, "door-cam", "door", 16, "no_mask", 0.9874, "door-cam/x.jpg")
    receiver = WebhookReceiver(secret="k")
    try:
        WebhookSink(receiver.url, "k", text=True, tz=berlin).send(store.get(event_id))
        WebhookSink(receiver.url, "k", text=True, tz=berlin).post(
            {
                "type": "camera_status",
                "camera": "gate",
                "online": True,
                "offline_since": iso(1795801800.0),
                "offline_seconds": 75.9,
                "last_error": None,
                "time": iso(1795801876.0),
            }
        )
        assert wait_for(lambda: len(receiver.received) == 2, 5) and receiver.bad_signatures == 0
    finally:
        receiver.close()
        store.close()
    assert receiver.received == [
        {
            "text": "No mask at camera door-cam, zone door, 2026-11-27 18:51:15 CET "
            f"(confidence 99%, track 16, event {event_id})"
        },
        {"text": "Camera gate is back online after 76 s (offline since 2026-11-27 18:50:00 CET)"},
    ]
    with pytest.raises(UserError, match="snapshots go in JSON bodies only"):
        parse_config(
            "cameras: [{name: c, source: 0}]\nsinks: {webhooks: [{url: 'http://x', format: text, snapshots: true}]}"
        )


def test_sinks_routed_by_camera_get_only_those_cameras_events_and_notices(tmp_path):
    from maskwatch.config import parse_config
    from maskwatch.core.errors import UserError
    from maskwatch.sinks import make_sinks

    cfg = parse_config("""
cameras: [{name: ward-3, source: 0}, {name: entrance, source: 1}]
sinks:
  webhooks:
    - {url: "http://vms.example/hook"}
    - {url: "http://ward3.example/hook", cameras: [ward-3], camera_status: true}
  email:
    - {name: ward3, host: mail, sender: mw@x.org, to: [ward3@x.org], cameras: [ward-3]}
    - {host: mail, sender: mw@x.org, to: [facilities@x.org]}
""")
    sinks = make_sinks(cfg.sinks)
    assert [(s.name, getattr(s, "cameras", None)) for s in sinks] == [
        ("log", None),
        ("webhook0", None),
        ("webhook1", frozenset({"ward-3"})),
        ("email:ward3", frozenset({"ward-3"})),
        ("email1", None),
    ]
    store = EventStore(tmp_path / "e.db", {s.name: getattr(s, "cameras", None) for s in sinks})
    ward, door = (store.add(time.time(), cam, None, 1, "no_mask", 0.9, None) for cam in ("ward-3", "entrance"))
    assert [e.id for e in store.pending("email:ward3")] == [ward] and [e.id for e in store.pending("email1")] == [
        ward,
        door,
    ]
    assert set(store.get(door).delivered) == {"log", "webhook0", "email1"}  # not pending where it does not go

    receiver = WebhookReceiver()
    routed = WebhookSink(receiver.url, cameras=["ward-3"], camera_status=True)
    notices = CameraNotices([routed])
    notices.start()
    try:
        notices.post("entrance", {"type": "camera_status", "camera": "entrance", "online": False})
        notices.post("ward-3", {"type": "camera_status", "camera": "ward-3", "online": False})
        assert wait_for(lambda: receiver.received, 5)
        time.sleep(0.3)
        assert [m["camera"] for m in receiver.received] == ["ward-3"]
    finally:
        notices.stop()
        receiver.close()
        store.close()
    assert (
        parse_config("cameras: [{name: c, source: 0}]\nsinks: {email: {host: m, sender: a@b.c, to: [d@e.f]}}")
        .sinks.email[0]
        .host
        == "m"
    )
    with pytest.raises(UserError, match=r"email: names repeat \(a, a\)"):
        parse_config(
            "cameras: [{name: c, source: 0}]\nsinks: {email: [{name: a, host: m, sender: a@b.c, to: [d@e.f]}, "
            "{name: a, host: n, sender: a@b.c, to: [g@e.f]}]}"
        )
    with pytest.raises(UserError, match=r"sinks.webhooks\[0\].cameras: no camera named lobby"):
        parse_config("cameras: [{name: c, source: 0}]\nsinks: {webhooks: [{url: 'http://x', cameras: [lobby]}]}")


def test_outage_watch_reports_long_outages_once_and_ignores_blips():
    watch = OutageWatch(offline_seconds=10)
    assert watch.update("cam", True, 0) is None  # online from the start: nothing to say
    assert watch.update("cam", False, 1) is None and watch.update("cam", True, 8) is None  # a 7 s reconnect
    assert [watch.update("cam", False, t) for t in (20, 29.9)] == [None, None]
    down = watch.update("cam", False, 30)
    assert down["online"] is False and down["offline_since"].endswith("00:00:20.000Z")
    assert watch.update("cam", False, 90) is None  # reported once
    assert watch.update("cam", True, 95) == {
        "online": True,
        "offline_since": down["offline_since"],
        "offline_seconds": 75.0,
    }
    assert watch.update("cam", True, 96) is None
    assert (
        watch.update("other", False, 100) is None and watch.update("other", False, 110)["online"] is False
    )  # down at start


def test_camera_notices_retry_and_send_only_the_latest_state():
    receiver = WebhookReceiver(secret="k", fail_first=1)
    notices = CameraNotices([WebhookSink(receiver.url, "k", camera_status=True)], retry_start=0.5)
    notices.start()
    try:
        notices.post("cam", {"type": "camera_status", "camera": "cam", "online": False})
        assert wait_for(lambda: receiver.requests == 1, 5)  # answered 503: kept, retried after 0.5 s
        notices.post("cam", {"type": "camera_status", "camera": "cam", "online": True})  # back before the retry
        notices.post("gate", {"type": "camera_status", "camera": "gate", "online": False})
        assert wait_for(lambda: len(receiver.received) == 2, 5)
        time.sleep(0.6)
        assert sorted((m["camera"], m["online"]) for m in receiver.received) == [("cam", True), ("gate", False)]
        assert receiver.requests == 3 and receiver.bad_signatures == 0 and notices.delivered == [2]
    finally:
        notices.stop()
        receiver.close()


def test_a_hanging_sink_does_not_hold_up_the_others(tmp_path):
    import socket

    with socket.socket() as black_hole:  # accepts connections (the kernel does) and never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        hanging = WebhookSink(f"http://127.0.0.1:{black_hole.getsockname()[1]}/hook", index=0, timeout=2)
        receiver = WebhookReceiver()
        store = EventStore(tmp_path / "e.db", ["webhook0", "webhook1"])
        outbox = Outbox(store, [hanging, WebhookSink(receiver.url, index=1)], retry_start=0.2)
        outbox.start()
        try:
            started = time.monotonic()
            ids = {store.add(time.time(), "cam", "door", i, "no_mask", 0.9, None) for i in range(3)}
            outbox.notify()
            assert wait_for(lambda: receiver.ids() == ids, 5)
            assert time.monotonic() - started < 1.5  # not after the hanging sink's 2 s timeout
            assert {e.id for e in store.pending("webhook0")} == ids
        finally:
            outbox.stop()
            outbox.join(3)
            receiver.close()
            store.close()


def test_home_assistant_image_entity_only_with_snapshots():
    from maskwatch.sinks.mqtt import home_assistant_discovery

    def kinds(snapshots):
        return sorted(topic.split("/")[1] for topic, _ in home_assistant_discovery("ha", "mw", ["door"], snapshots))

    assert kinds(False) == ["binary_sensor", "event", "sensor", "sensor", "sensor"]
    assert kinds(True) == ["binary_sensor", "event", "image", "sensor", "sensor", "sensor"]
