"""The service's parts on their own: frame slot, file pacing, tracker, smoothing, zones, rules, blur, store, outbox."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest
from helpers_service.servers import WebhookReceiver, free_port, wait_for

from maskwatch.events import EventStore, Retention, SnapshotWriter, apply_retention
from maskwatch.privacy import blur_faces
from maskwatch.rules import RuleEngine, Zone, ignored, make_zones, zone_of
from maskwatch.sinks import CameraNotices, LogSink, OutageWatch, Outbox, WebhookSink, encode, sign, verify
from maskwatch.sources import CameraReader, Frame, FrameSlot, describe
from maskwatch.track import FaceTracker, LabelSmoother
from maskwatch.types import TrackLabel
from maskwatch.types import Detections

NO_MASK = np.array([0.05, 0.9, 0.05], np.float32)
MASK = np.array([0.9, 0.05, 0.05], np.float32)


def test_frame_slot_keeps_the_newest_and_counts_drops():
    slot = FrameSlot()
    assert slot.take() is None
    for seq in (1, 2, 3):
        slot.put(Frame(np.zeros((1, 1, 3), np.uint8), seq, 0.0))
    assert slot.take().seq == 3 and slot.dropped == 2
    assert slot.take() is None  # taken once only
    slot.put(Frame(np.zeros((1, 1, 3), np.uint8), 4, 0.0))
    assert slot.take().seq == 4 and slot.dropped == 2


def test_file_reader_honours_fps_and_loops(tmp_path):
    path = tmp_path / "c.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20, (64, 48))
    for i in range(10):  # 0.5 s at 20 fps
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    reader = CameraReader("c", str(path), "file", fps=10)
    reader.start()
    time.sleep(1.55)
    reader.stop()
    reader.join(2)
    # 10 delivered frames a second in real time, looping the 0.5 s clip (every other frame skipped)
    assert 11 <= reader.stats.frames_decoded <= 18, reader.stats.frames_decoded  # 16 expected; slack for a busy machine
    assert reader.slot.dropped == reader.stats.frames_decoded - 1  # nobody took any
    assert not reader.stats.online
    # 20 fps file delivered at 10 fps: every other frame decoded and skipped (not converted, not delivered)
    assert abs(reader.stats.frames_skipped - reader.stats.frames_decoded) <= 2, reader.stats


def test_describe_hides_url_passwords():
    assert describe("rtsp://admin:secret@10.0.0.2:554/s1") == "rtsp://***@10.0.0.2:554/s1"
    assert describe("rtsp://10.0.0.2/s1") == "rtsp://10.0.0.2/s1" and describe(0) == "0"


def _dets(boxes, scores=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(boxes, np.asarray(scores if scores is not None else [0.9] * len(boxes), np.float32))


def test_tracker_keeps_ids_for_moving_faces():
    tracker = FaceTracker(fps=5, lost_seconds=1.0)
    ids = []
    for step in range(6):
        d = tracker.update(_dets([[10 + 3 * step, 10, 60 + 3 * step, 70], [200, 50, 260, 120]]))
        ids.append(tuple(d.track_ids))
    confirmed = [t for t in ids if min(t) >= 1]
    assert confirmed and all(t == confirmed[0] for t in confirmed) and confirmed[0][0] != confirmed[0][1]
    assert len(tracker.update(_dets(np.zeros((0, 4)))).track_ids) == 0


def test_smoother_ignores_one_bad_frame_and_times_the_label():
    s = LabelSmoother(window=5)
    for t in range(4):
        tl = s.update(7, NO_MASK, float(t))
    assert tl.label == "no_mask" and tl.stable_seconds == 3.0 and tl.confidence > 0.85
    tl = s.update(7, MASK, 4.0)  # one frame disagrees
    assert tl.label == "no_mask" and tl.stable_seconds == 4.0
    for t in (5.0, 6.0, 7.0):
        tl = s.update(7, MASK, t)
    assert tl.label == "mask" and tl.stable_seconds < 2.0  # the flip restarts the hold time
    s.prune(100.0)
    assert len(s) == 0


def test_zone_by_face_centre_and_whole_frame_default():
    zones = [Zone("left", np.array([[0, 0], [0.5, 0], [0.5, 1], [0, 1]], np.float32), True)]
    assert zone_of([10, 10, 90, 90], 200, 100, zones).name == "left"  # centre (50, 50) → (0.25, 0.5)
    assert zone_of([80, 10, 160, 90], 200, 100, zones) is None  # centre x 120/200 = 0.6
    whole = make_zones([])
    assert len(whole) == 1 and whole[0].restricted and zone_of([150, 40, 190, 90], 200, 100, whole).name == "frame"


def _tl(track, label, stable, conf=0.9):
    return TrackLabel(track, label, conf, stable, 0.0, 0.0, np.zeros(3))


def test_rules_hold_time_zone_labels_and_cooldown():
    zones = [
        Zone("door", np.array([[0, 0], [0.5, 0], [0.5, 1], [0, 1]], np.float32), True),
        Zone("hall", np.array([[0.5, 0], [1, 0], [1, 1], [0.5, 1]], np.float32), False),
    ]
    rules = RuleEngine("cam", zones, ["no_mask", "incorrect"], min_seconds=1.0, min_confidence=0.5, cooldown_seconds=10)
    left, right = (10, 10, 50, 50), (150, 10, 190, 50)
    assert rules.check([(0, _tl(1, "no_mask", 0.5), left)], 200, 100, 0.0) == []  # not held long enough
    assert rules.check([(0, _tl(1, "no_mask", 2.0, conf=0.4), left)], 200, 100, 0.0) == []  # not confident
    assert rules.check([(0, _tl(2, "no_mask", 2.0), right)], 200, 100, 0.0) == []  # unrestricted zone
    assert rules.check([(0, _tl(3, "mask", 2.0), left)], 200, 100, 0.0) == []  # label does not alert
    alerts = rules.check([(0, _tl(1, "no_mask", 2.0), left), (1, _tl(4, "incorrect", 1.5), left)], 200, 100, 1.0)
    assert [(a.track_id, a.zone, a.label, a.face_index) for a in alerts] == [
        (1, "door", "no_mask", 0),
        (4, "door", "incorrect", 1),
    ]
    assert rules.check([(0, _tl(1, "no_mask", 5.0), left)], 200, 100, 9.0) == []  # cooldown per track
    assert [a.track_id for a in rules.check([(0, _tl(1, "no_mask", 12.0), left)], 200, 100, 11.5)] == [1]


def _local(text: str) -> float:
    """Epoch seconds of a local wall-clock time, as the service's frames carry them."""
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def test_zone_hours_in_local_time_including_windows_past_midnight():
    from maskwatch.config import ZoneConfig
    from maskwatch.rules.hours import parse_window

    # 2026-11-27 is a Friday.
    (door,) = make_zones(
        [
            ZoneConfig(
                name="door",
                polygon=[(0, 0), (1, 0), (1, 1)],
                hours=["mon-fri 08:00-18:00", "fri 22:00-06:00", "sun 10:00-12:30"],
            )
        ]
    )
    expected = {
        "2026-11-27 07:59": False,
        "2026-11-27 08:00": True,
        "2026-11-27 17:59": True,
        "2026-11-27 18:00": False,
        "2026-11-27 23:30": True,
        "2026-11-28 05:59": True,
        "2026-11-28 06:00": False,
        "2026-11-28 12:00": False,
        "2026-11-29 12:29": True,
        "2026-11-29 12:30": False,
        "2026-11-30 09:00": True,
    }
    assert {t: door.restricted_at(_local(t)) for t in expected} == expected
    assert make_zones([])[0].restricted_at(_local("2026-11-28 03:00"))  # no hours: always
    open_zone = make_zones(
        [ZoneConfig(name="hall", polygon=[(0, 0), (1, 0), (1, 1)], restricted=False, hours=["daily 00:00-24:00"])]
    )[0]
    assert not open_zone.restricted_at(_local("2026-11-27 12:00"))  # hours never make an open zone restricted
    assert parse_window("sat-mon 09:00-10:00").days == {5, 6, 0} and parse_window("daily 00:00-24:00").end == 24 * 60
    for bad, why in (
        ("mon 8-9", "DAYS HH:MM-HH:MM"),
        ("funday 08:00-09:00", "days are"),
        ("mon 08:00-24:30", "not a time"),
        ("mon 08:00-08:00", "empty"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_window(bad)


def test_zone_hours_in_the_configured_time_zone():
    from datetime import datetime, timezone

    from maskwatch.config import RulesConfig, ZoneConfig

    berlin = RulesConfig(timezone="Europe/Berlin").tzinfo
    lab = [ZoneConfig(name="lab", polygon=[(0, 0), (1, 0), (1, 1)], hours=["mon-fri 08:00-18:00"])]
    utc = lambda text: datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()  # noqa: E731
    (in_berlin,), (in_utc,) = make_zones(lab, berlin), make_zones(lab, timezone.utc)
    # Berlin is UTC+1 in winter and UTC+2 in summer
    assert in_berlin.restricted_at(utc("2026-11-27 07:30")) and not in_utc.restricted_at(utc("2026-11-27 07:30"))
    assert not in_berlin.restricted_at(utc("2026-07-03 16:30")) and in_utc.restricted_at(utc("2026-07-03 16:30"))
    assert RulesConfig().tzinfo is None  # unset: the machine's local time


def test_rules_alert_only_while_the_zone_is_in_force():
    from maskwatch.config import ZoneConfig

    zones = make_zones(
        [ZoneConfig(name="lab", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)], hours=["mon-fri 08:00-18:00"])]
    )
    rules = RuleEngine("cam", zones, ["no_mask"], min_seconds=0.0, min_confidence=0.5, cooldown_seconds=0)
    face = [(0, _tl(1, "no_mask", 2.0), (10, 10, 50, 50))]
    assert rules.check(face, 200, 100, _local("2026-11-28 10:00")) == []  # Saturday
    assert [a.zone for a in rules.check(face, 200, 100, _local("2026-11-27 10:00"))] == ["lab"]


def test_blur_hides_faces_and_can_keep_the_offender():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (100, 200, 3), np.uint8)
    boxes = [[20, 20, 60, 60], [120, 20, 160, 60]]
    for method in ("pixelate", "gaussian"):
        out = blur_faces(image, boxes, method=method)
        for x1, y1, x2, y2 in boxes:
            assert out[y1:y2, x1:x2].std() < image[y1:y2, x1:x2].std() / 3
        assert np.array_equal(out[80:, :], image[80:, :])  # outside the boxes (with margin) untouched
    kept = blur_faces(image, boxes, keep=1)
    assert np.array_equal(kept[20:60, 120:160], image[20:60, 120:160]) and not np.array_equal(
        kept[20:60, 20:60], image[20:60, 20:60]
    )


def test_store_queries_deliveries_and_retention(tmp_path):
    store = EventStore(tmp_path / "e.db", ["log", "mqtt"])
    snaps = SnapshotWriter(tmp_path / "snaps")
    image = np.zeros((40, 40, 3), np.uint8)
    now = time.time()
    old_rel = snaps.write(image, [[5, 5, 20, 20]], 0, "a", 1, now - 10 * 86400)
    old = store.add(now - 10 * 86400, "a", "door", 1, "no_mask", 0.9, old_rel, (5, 5, 20, 20))
    new = store.add(now, "b", "hall", 2, "incorrect", 0.8, None)
    assert [e["id"] for e in store.query()] == [new, old]
    assert [e["id"] for e in store.query(camera="a")] == [old] and [
        e["id"] for e in store.query(label="incorrect")
    ] == [new]
    assert [e["id"] for e in store.query(since=now - 60)] == [new]
    assert [e["id"] for e in store.query(since="2000-01-01T00:00:00Z", zone="door")] == [old]
    assert store.get(old)["delivered"] == {"log": False, "mqtt": False} and store.get(old)["box"] == [5, 5, 20, 20]
    store.mark_delivered(old, "mqtt")
    assert [e["id"] for e in store.pending("mqtt")] == [new] and [e["id"] for e in store.pending("log")] == [old, new]
    assert snaps.resolve(old_rel).is_file() and snaps.resolve("../e.db") is None
    assert apply_retention(store, tmp_path / "snaps", Retention(7)) == 1
    assert [e["id"] for e in store.query()] == [new] and not (tmp_path / "snaps" / old_rel).exists()
    assert store.counts()["by_label"] == {"incorrect": 1}
    store.close()


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
        assert [e["id"] for e in store.pending("webhook1")] == ids  # the dead receiver keeps them all pending
        assert outbox.failures["webhook1"] >= 1 and "127.0.0.1" in outbox.last_error["webhook1"]
    finally:
        outbox.stop()
        outbox.join(3)
        receiver.close()
        store.close()


def test_text_webhooks_post_one_line_for_chat_tools(tmp_path):
    from zoneinfo import ZoneInfo

    from maskwatch.config import parse_config
    from maskwatch.errors import UserError
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
            "text": f"No mask at camera door-cam, zone door, 2026-11-27 18:51:15 CET (confidence 99%, track 16, event {event_id})"
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

    from helpers_service.servers import SmtpReceiver, self_signed

    from maskwatch.config import parse_config
    from maskwatch.errors import UserError
    from maskwatch.events import iso
    from maskwatch.sinks import EmailSink

    if shutil.which("openssl") is None:
        pytest.skip("openssl not found (Debian package 'openssl')")
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
    at = lambda text: datetime.fromisoformat(text).timestamp()  # noqa: E731
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
    from maskwatch.errors import UserError
    from maskwatch.sinks import make_sinks

    cfg = parse_config("""
cameras: [{name: ward-3, source: 0}, {name: entrance, source: 1}]
sinks:
  webhooks: [{url: "http://vms.example/hook"}, {url: "http://ward3.example/hook", cameras: [ward-3], camera_status: true}]
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
    assert [e["id"] for e in store.pending("email:ward3")] == [ward] and [e["id"] for e in store.pending("email1")] == [
        ward,
        door,
    ]
    assert set(store.get(door)["delivered"]) == {"log", "webhook0", "email1"}  # not pending where it does not go

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


@pytest.mark.parametrize("bad", [[{"name": "x", "polygon": [[0, 0], [1, 1]]}], [{"polygon": [[0, 0], [1, 0], [1, 1]]}]])
def test_set_zones_rejects_bad_zones_without_a_running_service(bad):
    from maskwatch.config import AppConfig
    from maskwatch.errors import UserError
    from maskwatch.service import Service

    service = Service(AppConfig.model_validate({"cameras": [{"name": "c", "source": 0}]}))
    with pytest.raises(UserError, match="zones"):
        service.set_zones("c", bad)
    service.set_zones("c", [{"name": "z", "polygon": [[0, 0], [1, 0], [1, 1]]}])
    assert service.zones("c") == [
        {
            "name": "z",
            "polygon": [[0, 0], [1, 0], [1, 1]],
            "restricted": True,
            "hours": [],
            "alert_labels": None,
            "ignore": False,
        }
    ]


def test_service_applies_retention_at_start_and_reports_offline_sources(tmp_path):
    from maskwatch.config import AppConfig
    from maskwatch.service import Service

    cfg = AppConfig.model_validate(
        {
            "cameras": [{"name": "gone", "source": str(tmp_path / "missing.mp4")}],
            "sinks": {"log": False},
            "storage": {"database": str(tmp_path / "e.db"), "snapshots": str(tmp_path / "s"), "retention_days": 2},
        }
    )
    store = EventStore(cfg.storage.database)
    snaps = SnapshotWriter(cfg.storage.snapshots)
    now = time.time()
    old = store.add(
        now - 3 * 86400,
        "gone",
        "frame",
        1,
        "no_mask",
        0.9,
        snaps.write(np.zeros((8, 8, 3), np.uint8), [], 0, "gone", 1, now - 3 * 86400),
    )
    recent = store.add(now - 86400, "gone", "frame", 2, "incorrect", 0.8, None)
    store.close()
    service = Service(cfg)
    service.start()
    try:

        def snapshots_left() -> bool:
            try:
                return any((tmp_path / "s").rglob("*.jpg"))
            except FileNotFoundError:  # the retention job is removing the folders while we walk them
                return True

        assert wait_for(lambda: [e["id"] for e in service.events()] == [recent] and not snapshots_left(), 5)
        assert service.event(old) is None
        status = wait_for(lambda: service.camera_status()[0]["last_error"] and service.camera_status()[0], 5)
        assert not status["online"] and "not found" in status["last_error"] and status["frames_decoded"] == 0
        assert service.latest_jpeg("gone") is None and service.stats()["events_by_label"]["incorrect"] == 1
    finally:
        service.stop()
    assert service.closing.is_set() and not service.running


def test_snapshot_hides_every_face_or_all_but_the_offender(tmp_path, test_clip):  # noqa: F811
    from maskwatch.detect import RetinaFaceDetector

    detector = RetinaFaceDetector(input_size=1024, min_score=0.5)
    ok, frame = cv2.VideoCapture(str(test_clip)).read()
    faces = detector.detect(frame, min_score=0.3)
    assert ok and len(faces) >= 2
    offender = int(np.argmin(faces.xyxy[:, 0]))  # the left face
    for show, expected in ((False, 0), (True, 1)):
        writer = SnapshotWriter(tmp_path / str(show), show_offender=show)
        rel = writer.write(frame, faces.xyxy, offender, "cam", 3, time.time())
        found = detector.detect(cv2.imread(str(writer.resolve(rel))))
        assert len(found) == expected, (show, found.det_scores)
        if expected:
            assert abs(found.xyxy[0, 0] - faces.xyxy[offender, 0]) < 20


def test_one_bad_frame_on_a_masked_track_never_alerts_a_sustained_one_does():
    smoother = LabelSmoother(window=5)
    zones = make_zones([])
    rules = RuleEngine("cam", zones, ["no_mask", "incorrect"], min_seconds=1.0, min_confidence=0.5, cooldown_seconds=60)
    box = (40, 40, 80, 90)
    alerts = []
    for step in range(30):  # 6 s at 5 fps: masked, one unmasked-looking frame at 1 s, then unmasked from 3 s on
        t = step / 5
        probs = NO_MASK if step == 5 or step >= 15 else MASK
        tl = smoother.update(1, probs, t)
        alerts += [(t, a.label) for a in rules.check([(0, tl, box)], 200, 200, t)]
    assert len(alerts) == 1
    t, label = alerts[0]
    assert label == "no_mask" and 3.4 <= t <= 4.6  # the mean flips after 3 of 5 frames, then it must hold 1 s


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
            assert {e["id"] for e in store.pending("webhook0")} == ids
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


def test_event_store_adds_the_review_and_clip_columns_to_an_older_database(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the first release's events table, with one alert in it
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, camera TEXT NOT NULL, "
            "zone TEXT, track_id INTEGER, label TEXT NOT NULL, confidence REAL, snapshot TEXT, box TEXT)"
        )
        db.execute(
            "INSERT INTO events(time, camera, zone, track_id, label, confidence) VALUES (1.0, 'door', 'z', 3, "
            "'no_mask', 0.9)"
        )
    store = EventStore(path, ["log"])
    (kept,) = store.query()
    assert (kept["camera"], kept["track_id"], kept["review"], kept["clip"]) == ("door", 3, None, None)
    store.set_clip([kept["id"]], "door/2026-11-27/101500_000.webm")
    assert store.set_review(kept["id"], "false_alarm")["review"] == "false_alarm"
    with pytest.raises(ValueError, match="review must be one of confirmed, false_alarm"):
        store.set_review(kept["id"], "maybe")
    store.close()
    again = EventStore(path).get(kept["id"])  # opened again: nothing added twice
    assert again["review"] == "false_alarm" and again["clip"] == "door/2026-11-27/101500_000.webm"


def test_sightings_count_each_track_once_under_its_first_held_label():
    zones = [Zone("door", np.array([[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]], np.float32), True)]
    rules = RuleEngine("cam", zones, ["no_mask"], min_seconds=1.0, min_confidence=0.5, cooldown_seconds=60)
    in_door, outside = (10, 10, 40, 40), (150, 60, 190, 95)  # a 200 x 100 frame; the zone is its top-left quarter
    assert rules.count([(0, _tl(1, "mask", 0.4), in_door)], 200, 100, 10.0) == []  # not held long enough yet
    assert rules.count([(0, _tl(1, "mask", 2.0, conf=0.4), in_door)], 200, 100, 10.5) == []  # too unsure
    first = rules.count([(0, _tl(1, "mask", 2.0), in_door), (1, _tl(2, "no_mask", 3.0), outside)], 200, 100, 11.0)
    assert [(s.camera, s.zone, s.label, s.time) for s in first] == [
        ("cam", "door", "mask", 11.0),
        ("cam", None, "no_mask", 11.0),
    ]
    # the same tracks later, seen again: not counted again
    assert rules.count([(0, _tl(1, "mask", 5.0), in_door), (1, _tl(2, "no_mask", 9.0), outside)], 200, 100, 15.0) == []
    # the masked face pulls the mask down (held long enough, even outside the zone): moved to no_mask, in the hour
    # and zone it was counted in; a mask put back on later does not move it back
    assert rules.count([(0, _tl(1, "no_mask", 0.5), outside)], 200, 100, 19.0) == []  # not held long enough yet
    moved = rules.count([(0, _tl(1, "no_mask", 1.5), outside)], 200, 100, 20.0)
    assert [(s.zone, s.label, s.time, s.people) for s in moved] == [
        ("door", "mask", 11.0, -1),
        ("door", "no_mask", 11.0, 1),
    ]
    assert rules.count([(0, _tl(1, "mask", 9.0), in_door)], 200, 100, 30.0) == []
    store = EventStore(":memory:")
    store.add_sightings(first + moved)
    assert [(r["zone"], r["label"], r["people"]) for r in store.sightings()] == [
        ("", "no_mask", 1),
        ("door", "no_mask", 1),
    ]


def test_compliance_per_hour_day_and_zone_in_the_configured_time_zone(tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from maskwatch.events import compliance_table, days_back
    from maskwatch.rules import Sighting

    berlin = ZoneInfo("Europe/Berlin")
    at = lambda text: datetime.fromisoformat(text).replace(tzinfo=berlin).timestamp()  # noqa: E731
    store = EventStore(tmp_path / "e.db")
    store.add_sightings(
        [
            Sighting("cam", "door", "mask", at("2026-11-26 23:10")),
            Sighting("cam", "door", "no_mask", at("2026-11-26 23:50")),
            Sighting("cam", "door", "mask", at("2026-11-27 00:05")),
            Sighting("cam", "door", "mask", at("2026-11-27 00:40")),
            Sighting("cam", None, "incorrect", at("2026-11-27 09:00")),
        ]
    )
    rows = store.sightings()
    assert [(r["zone"], r["label"], r["people"]) for r in rows] == [
        ("door", "mask", 1),
        ("door", "no_mask", 1),
        ("door", "mask", 2),
        ("", "incorrect", 1),
    ]
    days = compliance_table(rows, "day", berlin)
    assert [(d["start"], d["zone"], d["people"], d["mask"], d["no_mask"], d["masked_share"]) for d in days] == [
        ("2026-11-26T00:00:00+01:00", "door", 2, 1, 1, 0.5),
        ("2026-11-27T00:00:00+01:00", None, 1, 0, 0, 0.0),
        ("2026-11-27T00:00:00+01:00", "door", 2, 2, 0, 1.0),
    ]
    hours = compliance_table(rows, "hour", berlin)
    assert [h["start"] for h in hours][:2] == ["2026-11-26T23:00:00+01:00", "2026-11-27T00:00:00+01:00"]
    (door_all,) = [r for r in compliance_table(rows, "all", berlin) if r["zone"] == "door"]
    assert (door_all["start"], door_all["people"], door_all["masked_share"]) == (None, 4, 0.75)
    today = store.sightings(since=days_back(1, berlin, now=at("2026-11-27 12:00")))
    assert sum(r["people"] for r in today) == 3  # the hours from Berlin's midnight on
    with pytest.raises(ValueError, match="bucket must be one of hour, day, all"):
        compliance_table(rows, "week")
    store.delete_before(at("2026-11-26 00:00"), counts_cutoff=at("2026-11-27 00:00"))  # counts: their own cutoff
    assert sum(r["people"] for r in store.sightings()) == 3
    apply_retention(store, tmp_path / "snaps", Retention(1, count_days=400), now=at("2026-11-28 00:30"))
    assert sum(r["people"] for r in store.sightings()) == 3  # kept beyond the events' retention
    apply_retention(
        store, tmp_path / "snaps", Retention(1), now=at("2026-11-28 10:30")
    )  # count_days unset: as the events
    assert store.sightings() == []


def test_an_open_zone_first_silences_a_poster_inside_a_restricted_one():
    everywhere = Zone("hall", np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32), True)
    poster = Zone("poster", np.array([[0, 0], [0.3, 0], [0.3, 0.5], [0, 0.5]], np.float32), False)
    face_on_poster, person = (10, 10, 40, 40), (150, 40, 180, 80)  # a 200 x 100 frame
    faces = [(0, _tl(1, "no_mask", 5.0), face_on_poster), (1, _tl(2, "no_mask", 5.0), person)]
    silenced = RuleEngine(
        "cam", [poster, everywhere], ["no_mask"], min_seconds=1, min_confidence=0.5, cooldown_seconds=0
    )
    assert [(a.track_id, a.zone) for a in silenced.check(faces, 200, 100, 10.0)] == [(2, "hall")]
    unordered = RuleEngine(
        "cam", [everywhere, poster], ["no_mask"], min_seconds=1, min_confidence=0.5, cooldown_seconds=0
    )
    assert [a.track_id for a in unordered.check(faces, 200, 100, 10.0)] == [1, 2]  # the first zone decides


def test_a_zone_may_alert_on_other_labels_than_the_rules():
    from maskwatch.config import parse_config
    from maskwatch.errors import UserError

    cfg = parse_config("""
cameras:
  - name: cam
    source: 0
    zones:
      - {name: theatre, polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], alert_labels: [no_mask, incorrect]}
      - {name: corridor, polygon: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}
rules: {alert_labels: [no_mask]}
""")
    rules = RuleEngine(
        "cam",
        make_zones(cfg.cameras[0].zones),
        cfg.rules.alert_labels,
        min_seconds=1,
        min_confidence=0.5,
        cooldown_seconds=0,
    )
    left, right = (10, 10, 50, 50), (150, 10, 190, 50)  # a 200 x 100 frame
    faces = [
        (0, _tl(1, "incorrect", 5.0), left),
        (1, _tl(2, "incorrect", 5.0), right),
        (2, _tl(3, "no_mask", 5.0), right),
    ]
    assert [(a.track_id, a.zone) for a in rules.check(faces, 200, 100, 10.0)] == [(1, "theatre"), (3, "corridor")]
    with pytest.raises(UserError, match=r"alert_labels\[0\]"):
        parse_config(
            "cameras: [{name: c, source: 0, zones: [{name: z, polygon: [[0, 0], [1, 0], [1, 1]], "
            "alert_labels: [no_masks]}]}]"
        )


def test_faces_in_an_ignored_zone_are_left_out_wherever_it_lies_in_the_list():
    from maskwatch.config import parse_config
    from maskwatch.errors import UserError

    cfg = parse_config("""
cameras:
  - name: cam
    source: 0
    zones:
      - {name: door, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}
      - {name: poster, polygon: [[0, 0], [0.3, 0], [0.3, 0.6], [0, 0.6]], ignore: true}
""")
    zones = make_zones(cfg.cameras[0].zones)
    rules = RuleEngine("cam", zones, ["no_mask"], min_seconds=1, min_confidence=0.5, cooldown_seconds=0)
    poster, person = (10, 10, 40, 40), (100, 10, 140, 50)  # in a 200 x 100 frame; the poster's centre in both zones
    assert ignored(poster, 200, 100, zones) and not ignored(person, 200, 100, zones)
    assert zone_of(poster, 200, 100, zones).name == "door"  # the zone it is in, were it not ignored
    faces = [(0, _tl(1, "no_mask", 5.0), poster), (1, _tl(2, "no_mask", 5.0), person)]
    assert [a.track_id for a in rules.check(faces, 200, 100, 10.0)] == [2]
    assert [(s.zone, s.label) for s in rules.count(faces, 200, 100, 10.0)] == [("door", "no_mask")]
    with pytest.raises(UserError, match=r"zones\[0\]: an ignored zone takes no hours or alert_labels"):
        parse_config(
            "cameras: [{name: c, source: 0, zones: [{name: z, polygon: [[0, 0], [1, 0], [1, 1]], ignore: true, "
            "hours: ['daily 08:00-09:00']}]}]"
        )


def test_snapshots_can_go_sooner_than_their_events(tmp_path):
    now = time.time()
    store = EventStore(tmp_path / "e.db")
    snaps = SnapshotWriter(tmp_path / "snaps")
    image = np.full((40, 40, 3), 128, np.uint8)
    rels = [snaps.write(image, [[5, 5, 20, 20]], 0, "a", track, now - age * 86400) for track, age in ((1, 3), (2, 0))]
    three_days_old, fresh = (
        store.add(now - age * 86400, "a", "door", t, "no_mask", 0.9, rel)
        for t, age, rel in ((1, 3, rels[0]), (2, 0, rels[1]))
    )
    assert apply_retention(store, tmp_path / "snaps", Retention(7, snapshot_days=2), now=now) == 0  # no event goes
    assert store.get(three_days_old)["snapshot"] is None and not (tmp_path / "snaps" / rels[0]).exists()
    assert store.get(fresh)["snapshot"] == rels[1] and (tmp_path / "snaps" / rels[1]).is_file()
