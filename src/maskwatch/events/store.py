"""Events in SQLite (WAL): one row per alert, delivery state per sink, nothing that identifies a person."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from maskwatch.core.detections import BoxLike
from maskwatch.core.labels import REVIEWS
from maskwatch.core.records import Event
from maskwatch.events.times import TimeLike, iso, span_clauses

if TYPE_CHECKING:
    from maskwatch.rules import Sighting

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    camera TEXT NOT NULL,
    zone TEXT,
    track_id INTEGER,
    label TEXT NOT NULL,
    confidence REAL,
    snapshot TEXT,
    box TEXT,
    review TEXT,
    reviewed_at REAL
);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_camera ON events(camera, time);
CREATE TABLE IF NOT EXISTS deliveries (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    sink TEXT NOT NULL,
    delivered_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (event_id, sink)
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(sink, delivered_at);
CREATE TABLE IF NOT EXISTS sightings (
    hour REAL NOT NULL,
    camera TEXT NOT NULL,
    zone TEXT NOT NULL,
    label TEXT NOT NULL,
    people INTEGER NOT NULL,
    PRIMARY KEY (hour, camera, zone, label)
);
"""


# columns added after the first release: added to an older database at open, its rows kept
ADDED_COLUMNS = {
    "review": "TEXT",
    "reviewed_at": "REAL",
    "clip": "TEXT",
    "held_seconds": "REAL",
    "model_version": "TEXT",
}
MEDIA = ("snapshot", "clip")  # columns naming an event's files; a clip may be shared by the alerts it shows


class EventStore:
    """Thread-safe: one connection guarded by a lock (writes are few: one per alert)."""

    def __init__(self, path: Path, sinks: Sequence[str] | Mapping[str, frozenset[str] | None] = ()):
        """sinks: their names, or {name: the cameras whose events go to it (None: all)}."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        have = {r["name"] for r in self._db.execute("PRAGMA table_info(events)")}
        for column, kind in ADDED_COLUMNS.items():
            if column not in have:
                self._db.execute(f"ALTER TABLE events ADD COLUMN {column} {kind}")
        self._db.execute("CREATE INDEX IF NOT EXISTS events_clip ON events(clip)")
        self.routes: dict[str, frozenset[str] | None] = (
            dict(sinks) if isinstance(sinks, Mapping) else dict.fromkeys(sinks)
        )

    def close(self) -> None:
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()

    def add(
        self,
        time_: float,
        camera: str,
        zone: str | None,
        track_id: int,
        label: str,
        confidence: float,
        snapshot: str | None,
        box: BoxLike | None = None,
        held_seconds: float | None = None,
        model_version: str | None = None,
    ) -> int:
        """held_seconds: how long the label had held when it alerted (None: not known); model_version: the
        classifier's (MaskClassifier.version) that judged the face (None: not known)."""
        box_text = " ".join(f"{v:.1f}" for v in box) if box is not None else None
        held = None if held_seconds is None else float(held_seconds)
        with self._lock:
            self._db.execute("BEGIN")
            cur = self._db.execute(
                "INSERT INTO events(time, camera, zone, track_id, label, confidence, snapshot, box, held_seconds, "
                "model_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (time_, camera, zone, int(track_id), label, float(confidence), snapshot, box_text, held, model_version),
            )
            event_id = cur.lastrowid
            assert event_id is not None  # set by the INSERT
            self._db.executemany(
                "INSERT INTO deliveries(event_id, sink) VALUES (?, ?)",
                [(event_id, s) for s, cams in self.routes.items() if cams is None or camera in cams],
            )
            self._db.execute("COMMIT")
        return event_id

    def _event(self, row: sqlite3.Row, deliveries: dict[int, dict[str, bool]]) -> Event:
        return Event(
            id=row["id"],
            time=iso(row["time"]),
            timestamp=row["time"],
            camera=row["camera"],
            zone=row["zone"],
            track_id=row["track_id"],
            label=row["label"],
            confidence=round(row["confidence"], 4) if row["confidence"] is not None else None,
            held_seconds=round(row["held_seconds"], 2) if row["held_seconds"] is not None else None,
            snapshot=row["snapshot"],
            clip=row["clip"],
            box=[float(v) for v in row["box"].split()] if row["box"] else None,
            delivered=deliveries.get(row["id"], {}),
            review=row["review"],
            model_version=row["model_version"],
        )

    def _deliveries(self, ids: list[int]) -> dict[int, dict[str, bool]]:
        out: dict[int, dict[str, bool]] = {}
        if not ids:
            return out
        marks = ",".join("?" * len(ids))
        for r in self._db.execute(
            f"SELECT event_id, sink, delivered_at FROM deliveries WHERE event_id IN ({marks})", ids
        ):
            out.setdefault(r[0], {})[r[1]] = r[2] is not None
        return out

    def query(
        self,
        camera: str | None = None,
        label: str | None = None,
        zone: str | None = None,
        since: TimeLike = None,
        until: TimeLike = None,
        limit: int = 100,
        offset: int = 0,
        review: str | None = None,
    ) -> list[Event]:
        """review: 'unreviewed', or one of REVIEWS."""
        where: list[str] = []
        args: list[object] = []
        for column, value in (("camera", camera), ("label", label), ("zone", zone)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if review == "unreviewed":
            where.append("review IS NULL")
        elif review:
            where.append("review = ?")
            args.append(review)
        span, values = span_clauses(since, until, after="time >= ?", before="time < ?")
        where, args = where + span, args + values
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        args += [max(0, min(int(limit), 10000)), max(0, int(offset))]
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
            deliveries = self._deliveries([r["id"] for r in rows])
        return [self._event(r, deliveries) for r in rows]

    def get(self, event_id: int) -> Event | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM events WHERE id = ?", (int(event_id),)).fetchone()
            if row is None:
                return None
            return self._event(row, self._deliveries([row["id"]]))

    def set_review(self, event_id: int, review: str | None) -> Event | None:
        """Marks an event as looked at (one of REVIEWS) or, with None, as not yet; None when there is no such event."""
        if review is not None and review not in REVIEWS:
            raise ValueError(f"review must be one of {', '.join(REVIEWS)} or null, got {review!r}")
        with self._lock:
            self._db.execute(
                "UPDATE events SET review = ?, reviewed_at = ? WHERE id = ?",
                (review, time.time() if review else None, int(event_id)),
            )
        return self.get(event_id)

    def pending(self, sink: str, limit: int = 50) -> list[Event]:
        """Events not yet delivered to `sink`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.* FROM events e JOIN deliveries d ON d.event_id = e.id "
                "WHERE d.sink = ? AND d.delivered_at IS NULL ORDER BY e.id LIMIT ?",
                (sink, limit),
            ).fetchall()
            deliveries = self._deliveries([r["id"] for r in rows])
        return [self._event(r, deliveries) for r in rows]

    def mark_delivered(self, event_id: int, sink: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL "
                "WHERE event_id = ? AND sink = ?",
                (time.time(), event_id, sink),
            )

    def mark_failed(self, event_id: int, sink: str, error: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE event_id = ? AND sink = ?",
                (error[:500], event_id, sink),
            )

    def counts(self) -> dict:
        with self._lock:
            total = self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            by_label = dict(self._db.execute("SELECT label, COUNT(*) FROM events GROUP BY label").fetchall())
            by_camera = dict(self._db.execute("SELECT camera, COUNT(*) FROM events GROUP BY camera").fetchall())
            by_review = dict(
                self._db.execute(
                    "SELECT COALESCE(review, 'unreviewed'), COUNT(*) FROM events GROUP BY review"
                ).fetchall()
            )
            by_camera_label = [
                tuple(r)
                for r in self._db.execute(
                    "SELECT camera, label, COUNT(*) FROM events GROUP BY camera, label"
                ).fetchall()
            ]
            pending = dict(
                self._db.execute(
                    "SELECT sink, COUNT(*) FROM deliveries WHERE delivered_at IS NULL GROUP BY sink"
                ).fetchall()
            )
        return {
            "total": total,
            "by_label": by_label,
            "by_camera": by_camera,
            "by_camera_label": by_camera_label,
            "by_review": by_review,
            "pending_by_sink": pending,
        }

    def review_counts(self, since: TimeLike = None) -> list[tuple[str, str, str, int]]:
        """(camera, zone or '', review state, alerts) of the alerts since `since` (None: all kept), review state
        'unreviewed', 'confirmed' or 'false_alarm'."""
        where, args = span_clauses(since, None, after="time >= ?", before="time < ?")
        sql = (
            "SELECT camera, COALESCE(zone, ''), COALESCE(review, 'unreviewed'), COUNT(*) FROM events"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " GROUP BY camera, zone, review ORDER BY camera, zone"
        )
        with self._lock:
            return [tuple(r) for r in self._db.execute(sql, args).fetchall()]

    def people_totals(self) -> list[tuple[str, str, str, int]]:
        """(camera, zone or '', label, people) over all the kept hours."""
        with self._lock:
            return [
                tuple(r)
                for r in self._db.execute(
                    "SELECT camera, zone, label, SUM(people) FROM sightings GROUP BY camera, zone, label"
                ).fetchall()
            ]

    def add_sightings(self, sightings: Iterable[Sighting]) -> None:
        """Adds each sighting's people (+1, or -1 for a face moved to another label) to its UTC hour's count; zone
        None is stored as ''."""
        rows = [(s.time // 3600 * 3600, s.camera, s.zone or "", s.label, s.people) for s in sightings]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO sightings VALUES (?, ?, ?, ?, ?) ON CONFLICT(hour, camera, zone, label) "
                "DO UPDATE SET people = people + excluded.people",
                rows,
            )
            taken = [r[:4] for r in rows if r[4] < 0]  # a row taken back to zero goes
            self._db.executemany(
                "DELETE FROM sightings WHERE hour = ? AND camera = ? AND zone = ? AND label = ? AND people <= 0", taken
            )
            self._db.execute("COMMIT")

    def sightings(self, since: TimeLike = None, until: TimeLike = None, camera: str | None = None) -> list[dict]:
        """Hourly counts, oldest first: {hour (epoch seconds), camera, zone, label, people}."""
        # the hours that overlap the span
        where, args = span_clauses(since, until, after="hour + 3600 > ?", before="hour < ?")
        if camera:
            where.append("camera = ?")
            args.append(camera)
        sql = (
            "SELECT * FROM sightings"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY hour, camera, zone"
        )
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, args)]

    def set_clip(self, event_ids: list[int], clip: str) -> None:
        with self._lock:
            self._db.executemany("UPDATE events SET clip = ? WHERE id = ?", [(clip, int(i)) for i in event_ids])

    def find(self, camera: str, track_id: int, time_: float) -> int | None:
        """The id of the event a camera raised for a track at that time (as the alert carried it)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM events WHERE camera = ? AND track_id = ? AND time = ?", (camera, int(track_id), time_)
            ).fetchone()
        return row[0] if row else None

    def forget_media(self, column: str, rel: str) -> None:
        """No event names the file `rel` in `column` (one of MEDIA) any more."""
        _check_media(column)
        with self._lock:
            self._db.execute(f"UPDATE events SET {column} = NULL WHERE {column} = ?", (rel,))

    def clear_media_before(self, column: str, cutoff: float) -> list[str]:
        """Forgets the files in `column` (one of MEDIA) of events older than `cutoff` (the events stay); returns
        those no event names any more, for the caller to delete."""
        _check_media(column)
        with self._lock:
            self._db.execute("BEGIN")
            rels = self._named_before(column, cutoff)
            self._db.execute(f"UPDATE events SET {column} = NULL WHERE time < ? AND {column} IS NOT NULL", (cutoff,))
            rels = self._unused(column, rels)
            self._db.execute("COMMIT")
        return rels

    def delete_before(self, cutoff: float, counts_cutoff: float | None = None) -> tuple[int, dict[str, list[str]]]:
        """Deletes events older than `cutoff`, and hourly counts older than `counts_cutoff` (default: the same);
        returns how many events went and, per MEDIA column, the files no event names any more (for the caller to
        delete)."""
        with self._lock:
            self._db.execute("BEGIN")
            named = {c: self._named_before(c, cutoff) for c in MEDIA}
            deleted = self._db.execute("DELETE FROM events WHERE time < ?", (cutoff,)).rowcount
            self._db.execute(
                "DELETE FROM sightings WHERE hour + 3600 <= ?", (cutoff if counts_cutoff is None else counts_cutoff,)
            )
            unused = {c: self._unused(c, rels) for c, rels in named.items()}
            self._db.execute("COMMIT")
        return deleted, unused

    def _named_before(self, column: str, cutoff: float) -> list[str]:
        return [
            r[0]
            for r in self._db.execute(
                f"SELECT DISTINCT {column} FROM events WHERE time < ? AND {column} IS NOT NULL", (cutoff,)
            )
        ]

    def _unused(self, column: str, rels: list[str]) -> list[str]:
        if column == "snapshot":  # one per event
            return rels
        return [
            r
            for r in rels
            if self._db.execute(f"SELECT 1 FROM events WHERE {column} = ? LIMIT 1", (r,)).fetchone() is None
        ]


def _check_media(column: str) -> None:
    if column not in MEDIA:  # column names go into SQL: only these
        raise ValueError(f"no media column {column!r}")
