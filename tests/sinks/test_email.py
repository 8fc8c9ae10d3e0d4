"""The e-mail sink over a real SMTP server (aiosmtpd): alerts with snapshots, camera notices, the daily summary."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from helpers_service.notices import offline_notice
from helpers_service.servers import wait_for
from maskwatch.events import EventStore, SnapshotWriter
from maskwatch.sinks import Outbox


def clinic_mail(port: int, snaps: SnapshotWriter):
    """An e-mail sink as a clinic would set one up: STARTTLS with a login, two recipients, Berlin time."""
    from zoneinfo import ZoneInfo

    from maskwatch.sinks import EmailSink

    return EmailSink(
        "127.0.0.1",
        port,
        "starttls",
        "alerts",
        "s3cret",
        "maskwatch@clinic.example",
        ["ward@clinic.example", "it@clinic.example"],
        timeout=5,
        snapshot_file=snaps.resolve,
        tz=ZoneInfo("Europe/Berlin"),
    )


def test_email_alerts_over_starttls_with_a_login_retried_until_accepted(tmp_path, monkeypatch):
    import shutil

    from helpers_service.requires import require
    from helpers_service.servers import SmtpReceiver, self_signed

    require(shutil.which("openssl") is not None, "openssl", "Debian package 'openssl'")
    cert, key = self_signed(tmp_path, "smtp")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client checks the server's certificate against it
    receiver = SmtpReceiver(tls=(cert, key), user=("alerts", "s3cret"), fail_first=1)
    snaps = SnapshotWriter(tmp_path / "snaps")
    snapshot = snaps.save(
        cv2.imencode(".jpg", np.full((40, 40, 3), 90, np.uint8))[1].tobytes(), "door-cam", 16, 1795801875.944
    )
    store = EventStore(tmp_path / "e.db", ["email"])
    email = clinic_mail(receiver.port, snaps)
    outbox = Outbox(store, [email], retry_start=0.2, retry_max=0.5)
    outbox.start()
    try:
        event_id = store.add(1795801875.944, "door-cam", "door", 16, "no_mask", 0.9874, snapshot)
        outbox.notify()
        assert wait_for(lambda: store.pending("email") == [], 10), outbox.last_error
        email.post(offline_notice("gate"))
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


def test_the_email_section_builds_a_starttls_sink_on_587_and_checks_its_addresses(tmp_path):
    from maskwatch.config import parse_config
    from maskwatch.core.errors import UserError
    from maskwatch.sinks import make_sinks

    snaps = SnapshotWriter(tmp_path / "snaps")
    cfg = parse_config(
        "cameras: [{name: c, source: 0}]\nsinks: {email: {host: mail.example, sender: a@b.c, to: [w@b.c], "
        "camera_status: true, snapshots: true}}"
    )
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
    (mail,) = [m for m in receiver.messages if m["Subject"].startswith(f"maskwatch: {yesterday.isoformat()}:")]
    assert mail["Subject"] == f"maskwatch: {yesterday.isoformat()}: 2 people seen, 50.0% masked, 1 alerts"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert ["door-cam", "door", "2", "1", "1", "0", "50.0%"] in [line.split() for line in body.splitlines()]
    assert "Alerts: 1 (no mask 1)" in body and "Reviewed: unreviewed 1" in body


def test_a_daily_summary_the_mail_server_turns_away_is_retried():
    from helpers_service.servers import SmtpReceiver
    from maskwatch.sinks import EmailSink
    from maskwatch.sinks.daily_summary import DailySummary

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
