"""Every event keeps the version of the classifier that judged it; a database from before keeps its rows."""

from __future__ import annotations

import sqlite3

from maskwatch.events import EventStore

OLD_SCHEMA = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, camera TEXT NOT NULL, zone TEXT, track_id INTEGER,
    label TEXT NOT NULL, confidence REAL, snapshot TEXT, box TEXT, review TEXT, reviewed_at REAL, clip TEXT,
    held_seconds REAL
);
"""


def test_model_version_is_stored_returned_and_sent(tmp_path):
    store = EventStore(tmp_path / "e.db", ["mqtt"])
    first = store.add(100.0, "door", "in", 1, "no_mask", 0.9, None, model_version="mask_classifier-1a2b3c4d")
    second = store.add(101.0, "door", "in", 2, "no_mask", 0.8, None)
    event = store.get(first)
    assert event is not None and event.model_version == "mask_classifier-1a2b3c4d"
    assert event.to_json()["model_version"] == event.payload()["model_version"] == "mask_classifier-1a2b3c4d"
    assert [e.model_version for e in store.pending("mqtt")] == ["mask_classifier-1a2b3c4d", None]
    assert store.get(second).model_version is None  # type: ignore[union-attr]
    store.close()


def test_a_database_from_before_gets_the_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO events(time, camera, label, confidence) VALUES (50.0, 'door', 'no_mask', 0.7)")
    store = EventStore(path)
    (old,) = store.query()
    assert old.camera == "door" and old.label == "no_mask" and old.model_version is None
    new = store.add(60.0, "door", None, 3, "incorrect", 0.6, None, model_version="retrained-00ff00ff")
    assert [e.model_version for e in store.query()] == ["retrained-00ff00ff", None] and new == old.id + 1
    store.close()
    assert EventStore(path).get(new).model_version == "retrained-00ff00ff"  # type: ignore[union-attr]
