"""The event store, snapshots, retention and the compliance figures."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from maskwatch.events import EventStore, Retention, SnapshotWriter, apply_retention


def test_store_queries_deliveries_and_retention(tmp_path):
    store = EventStore(tmp_path / "e.db", ["log", "mqtt"])
    snaps = SnapshotWriter(tmp_path / "snaps")
    image = np.zeros((40, 40, 3), np.uint8)
    now = time.time()
    old_rel = snaps.write(image, [[5, 5, 20, 20]], 0, "a", 1, now - 10 * 86400)
    old = store.add(now - 10 * 86400, "a", "door", 1, "no_mask", 0.9, old_rel, (5, 5, 20, 20))
    new = store.add(now, "b", "hall", 2, "incorrect", 0.8, None)
    assert [e.id for e in store.query()] == [new, old]
    assert [e.id for e in store.query(camera="a")] == [old] and [e.id for e in store.query(label="incorrect")] == [new]
    assert [e.id for e in store.query(since=now - 60)] == [new]
    assert [e.id for e in store.query(since="2000-01-01T00:00:00Z", zone="door")] == [old]
    assert store.get(old).delivered == {"log": False, "mqtt": False} and store.get(old).box == [5, 5, 20, 20]
    store.mark_delivered(old, "mqtt")
    assert [e.id for e in store.pending("mqtt")] == [new] and [e.id for e in store.pending("log")] == [old, new]
    assert snaps.resolve(old_rel).is_file() and snaps.resolve("../e.db") is None
    assert apply_retention(store, tmp_path / "snaps", Retention(7)) == 1
    assert [e.id for e in store.query()] == [new] and not (tmp_path / "snaps" / old_rel).exists()
    assert store.counts()["by_label"] == {"incorrect": 1}
    store.close()


def test_snapshot_hides_every_face_or_all_but_the_offender(tmp_path, test_clip):
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
    assert (kept.camera, kept.track_id, kept.review, kept.clip, kept.held_seconds) == ("door", 3, None, None, None)
    new = store.get(store.add(2.0, "door", "z", 4, "no_mask", 0.8, None, held_seconds=1.234))
    assert (new.zone, new.confidence, new.held_seconds) == ("z", 0.8, 1.23)
    store.set_clip([kept.id], "door/2026-11-27/101500_000.webm")
    assert store.set_review(kept.id, "false_alarm").review == "false_alarm"
    with pytest.raises(ValueError, match="review must be one of confirmed, false_alarm"):
        store.set_review(kept.id, "maybe")
    store.close()
    again = EventStore(path).get(kept.id)  # opened again: nothing added twice
    assert again.review == "false_alarm" and again.clip == "door/2026-11-27/101500_000.webm"


def test_compliance_per_hour_day_and_zone_in_the_configured_time_zone(tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from maskwatch.events import compliance_table, days_back
    from maskwatch.rules import Sighting

    berlin = ZoneInfo("Europe/Berlin")

    def at(text):
        return datetime.fromisoformat(text).replace(tzinfo=berlin).timestamp()

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
    assert store.get(three_days_old).snapshot is None and not (tmp_path / "snaps" / rels[0]).exists()
    assert store.get(fresh).snapshot == rels[1] and (tmp_path / "snaps" / rels[1]).is_file()


def test_review_counts_per_camera_and_zone_give_the_false_alarm_rate(tmp_path):
    from maskwatch.events import review_table

    store = EventStore(tmp_path / "e.db")
    ids = [store.add(1000.0 + i, "door-cam", "door", i, "no_mask", 0.9, None) for i in range(4)]
    hall = store.add(5000.0, "door-cam", None, 9, "incorrect", 0.8, None)
    store.set_review(ids[0], "false_alarm")
    store.set_review(ids[1], "confirmed")
    store.set_review(ids[2], "confirmed")
    rows = review_table(store.review_counts())
    assert rows == [
        {
            "camera": "door-cam",
            "zone": None,
            "alerts": 1,
            "confirmed": 0,
            "false_alarm": 0,
            "unreviewed": 1,
            "false_alarm_rate": None,
        },
        {
            "camera": "door-cam",
            "zone": "door",
            "alerts": 4,
            "confirmed": 2,
            "false_alarm": 1,
            "unreviewed": 1,
            "false_alarm_rate": 0.3333,
        },
    ]
    assert review_table(store.review_counts(since=2000.0)) == [rows[0]] and hall
    store.close()
