"""The alert sinks and their outbox: webhooks, e-mail, daily summary, camera notices, routing by camera."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from helpers_service.servers import WebhookReceiver, free_port, wait_for
from maskwatch.events import EventStore, SnapshotWriter
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


def test_email_alerts_over_starttls_with_a_login_retried_until_accepted(tmp_path, monkeypatch):
    import shutil
    from zoneinfo import ZoneInfo

    from helpers_service.requires import require
    from helpers_service.servers import SmtpReceiver, self_signed
    from maskwatch.config import parse_config
    from maskwatch.core.errors import UserError
    from maskwatch.events import iso
    from maskwatch.sinks import EmailSink

    require(shutil.which("openssl") is not None, "openssl", "Debian package 'openssl'")
    cert, key = self_signed(tmp_path, "smtp")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client checks the server's certificate against it
    receiver = SmtpReceiver(tls=(cert, key), user=("alerts", "s3cret"), fail_first=1)
    snaps = SnapshotWriter(tmp_path / "snaps")
    snapshot = snaps.save(
        cv2.imencode(".jpg", np.full((40, 40, 3), 90, np.uint8))[1].tobytes(), "door-cam", 16, 1795801875.944
    )
    store = EventStore(tmp_path / "e.db", ["email"])
    email = EmailSink(
        "127.0.0.1",
        receiver.port,
        "starttls",
        "alerts",
        "s3cret",
        "maskwatch@clinic.example",
        ["ward@clinic.example", "it@clinic.example"],
        timeout=5,
        snapshot_file=snaps.resolve,
        tz=ZoneInfo("Europe/Berlin"),
    )
    outbox = Outbox(store, [email], retry_start=0.2, retry_max=0.5)
    outbox.start()
    try:
        event_id = store.add(1795801875.944, "door-cam", "door", 16, "no_mask", 0.9874, snapshot)
        outbox.notify()
        assert wait_for(lambda: store.pending("email") == [], 10), outbox.last_error
        email.post(
            {
                "type": "camera_status",
                "camera": "gate",
                "online": False,
                "offline_since": iso(1795801800.0),
                "last_error": "cannot open rtsp://***@10.0.0.5/s1",
                "time": iso(1795801810.0),
            }
        )
    finally:
        outbox.stop()
        outbox.join(3)
        receiver.close()
        store.close()
    assert (
        receiver.attempts == 3 and outbox.failures["email"] == 1 and receiver.logins == ["alerts", "alerts", "alerts"]
    )
    alert, notice = receiver.messages
    assert alert["Subject"] == (
        f"maskwatch: No mask at camera door-cam, zone door, 2026-11-27 18:51:15 CET "
        f"(confidence 99%, track 16, event {event_id})"
    )
    assert alert["To"] == "ward@clinic.example, it@clinic.example" and alert["From"] == "maskwatch@clinic.example"
    line, fields = alert.get_body(("plain",)).get_content().replace("\r\n", "\n").split("\n\n", 1)
    assert line == alert["Subject"].removeprefix("maskwatch: ") and json.loads(fields)["id"] == event_id
    (attached,) = alert.iter_attachments()
    assert (
        attached.get_content_type() == "image/jpeg" and attached.get_content() == snaps.resolve(snapshot).read_bytes()
    )
    assert (
        notice["Subject"]
        == "maskwatch: Camera gate is offline since 2026-11-27 18:50:00 CET: cannot open rtsp://***@10.0.0.5/s1"
    )
    cfg = parse_config(
        "cameras: [{name: c, source: 0}]\nsinks: {email: {host: mail.example, sender: a@b.c, to: [w@b.c], "
        "camera_status: true, snapshots: true}}"
    )
    from maskwatch.sinks import make_sinks

    built = make_sinks(cfg.sinks, snapshot_file=snaps.resolve)[-1]
    assert (built.name, built.port, built.security, built.camera_status, built.snapshot_file) == (
        "email0",
        587,
        "starttls",
        True,
        snaps.resolve,
    )  # camera_status: the service hands it camera notices too
    with pytest.raises(UserError, match=r"sinks.email\[0\].to\[0\]"):
        parse_config("cameras: [{name: c, source: 0}]\nsinks: {email: {host: mail, sender: a@b.c, to: [ward]}}")


def test_daily_summary_time_across_daylight_saving_and_its_text():
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from maskwatch.sinks.daily_summary import next_run, summary_text

    berlin = ZoneInfo("Europe/Berlin")

    def at(text):
        return datetime.fromisoformat(text).timestamp()

    assert next_run(at("2026-03-29T00:30:00+00:00"), "07:00", berlin) == at("2026-03-29T07:00:00+02:00")  # DST day
    assert next_run(at("2026-03-29T07:00:00+02:00"), "07:00", berlin) == at("2026-03-29T07:00:00+02:00")
    assert next_run(at("2026-10-24T07:00:01+02:00"), "07:00", berlin) == at("2026-10-25T07:00:00+01:00")
    table = [
        {
            "camera": "entrance",
            "zone": "door",
            "people": 40,
            "mask": 36,
            "no_mask": 3,
            "incorrect": 1,
            "masked_share": 0.9,
        },
        {"camera": "entrance", "zone": None, "people": 2, "mask": 2, "no_mask": 0, "incorrect": 0, "masked_share": 1.0},
    ]
    alerts = [
        {"label": "no_mask", "review": "confirmed"},
        {"label": "no_mask", "review": None},
        {"label": "incorrect", "review": "false_alarm"},
    ]
    subject, body = summary_text(date(2026, 11, 26), table, alerts, "Europe/Berlin")
    assert subject == "maskwatch: 2026-11-26: 42 people seen, 90.5% masked, 3 alerts"
    assert body.splitlines() == [
        "People seen on Thursday 2026-11-26 (Europe/Berlin), each tracked face once under the worst label it held:",
        "",
        "camera    zone       people  mask  no mask  mask worn incorrectly  masked",
        "entrance  door           40    36        3                      1   90.0%",
        "entrance  (no zone)       2     2        0                      0  100.0%",
        "",
        "Alerts: 3 (mask worn incorrectly 1, no mask 2)",
        "Reviewed: confirmed 1, false alarm 1, unreviewed 1",
    ]
    assert (
        summary_text(date(2026, 11, 26), [], [], "UTC")[0]
        == "maskwatch: 2026-11-26: 0 people seen, no one seen, 0 alerts"
    )


def test_the_daily_summary_mail_goes_out_with_the_day_befores_figures(tmp_path):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from helpers_service.servers import SmtpReceiver
    from maskwatch.config import load_config
    from maskwatch.rules import Sighting
    from maskwatch.service import Service
    from maskwatch.sinks import EmailSink
    from maskwatch.sinks.daily_summary import DailySummary

    receiver = SmtpReceiver()
    path = tmp_path / "maskwatch.yaml"
    path.write_text(f"""
cameras: [{{name: door-cam, source: missing.mp4}}]
rules: {{timezone: Europe/Berlin}}
sinks:
  log: false
  email: {{host: 127.0.0.1, port: {receiver.port}, security: none, sender: mw@clinic.example, to: [lead@clinic.example],
          daily_summary: "07:00"}}
storage: {{database: d/e.db, snapshots: d/s}}
ui: {{enabled: false}}
""")
    service = Service(load_config(path), path)
    service.start()
    try:
        yesterday = datetime.now(ZoneInfo("Europe/Berlin")).date() - timedelta(days=1)
        noon = datetime(
            yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=ZoneInfo("Europe/Berlin")
        ).timestamp()
        service.store.add_sightings(
            [
                Sighting("door-cam", "door", "mask", noon),
                Sighting("door-cam", "door", "no_mask", noon),
                Sighting("door-cam", "door", "mask", noon - 86400),
            ]
        )  # the day before: not counted
        service.store.add(noon, "door-cam", "door", 7, "no_mask", 0.9, None)
        assert [d.sent for d in service.daily] == [[]]  # due at 07:00, not now
        assert service.daily_summary(yesterday, cameras=frozenset({"gate"}))[0].endswith(
            ": 0 people seen, no one seen, 0 alerts"
        )
        email = next(s for s in service.sinks if isinstance(s, EmailSink))
        daily = DailySummary(email.send_text, service.daily_summary, "07:00", service.config.rules.tzinfo)
        daily.start(first=time.time() + 0.2)  # as if 07:00 came
        assert wait_for(lambda: daily.sent == [yesterday], 10)
        daily.stop()
    finally:
        service.stop()
        receiver.close()
    busy = SmtpReceiver(fail_first=1)  # the mail server turns the first try away: the summary is retried
    try:
        retried = DailySummary(
            EmailSink("127.0.0.1", busy.port, "none", None, None, "mw@clinic.example", ["a@b.c"]).send_text,
            lambda day: (f"summary of {day}", "figures"),
            "07:00",
            None,
            retry_start=0.2,
        )
        retried.start(first=time.time())
        assert wait_for(lambda: retried.sent, 10) and busy.attempts == 2
        retried.stop()
    finally:
        busy.close()
    (mail,) = [m for m in receiver.messages if m["Subject"].startswith(f"maskwatch: {yesterday.isoformat()}:")]
    assert mail["Subject"] == f"maskwatch: {yesterday.isoformat()}: 2 people seen, 50.0% masked, 1 alerts"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert ["door-cam", "door", "2", "1", "1", "0", "50.0%"] in [line.split() for line in body.splitlines()]
    assert "Alerts: 1 (no mask 1)" in body and "Reviewed: unreviewed 1" in body


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
