"""A shard's alerts, with their snapshot JPEGs, in a SQLite file on its node until the head acknowledges them.

The head stores what it collects, then acknowledges it with its next collection; a shard that dies before is
started again by Ray with the same cameras, opens the same file and hands over what the head had not stored yet.
(The head finds an alert it had stored already by camera, track and time: handing one over twice adds it once.)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from maskwatch.rules import Alert

MAX_PENDING = 10_000  # alerts kept while no head acknowledges them; the oldest go first
SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert TEXT NOT NULL,
    jpeg BLOB
);
"""


def outbox_path(folder: Path | None, head_database: Path, cameras: list[str]) -> Path:
    """The same file for the same head and cameras, so that a restarted shard finds it; by default in the node's
    temporary folder."""
    key = hashlib.sha256(f"{Path(head_database).absolute()}\n{','.join(sorted(cameras))}".encode()).hexdigest()[:16]
    return (folder or Path(tempfile.gettempdir()) / "maskwatch-shards") / f"shard-{key}.db"


def _encode(alert: Alert) -> str:
    return json.dumps(
        [
            alert.camera,
            alert.zone,
            alert.track_id,
            alert.label,
            alert.confidence,
            alert.box,
            alert.face_index,
            alert.time,
            alert.held_seconds,
        ]
    )


def _decode(text: str) -> Alert:
    camera, zone, track_id, label, confidence, box, face_index, at, *held = json.loads(text)  # older: no held
    return Alert(camera, zone, track_id, label, confidence, tuple(box), face_index, at, *held)


class ShardOutbox:
    """Thread-safe: the analysis thread puts, the head's calls take."""

    def __init__(self, path: Path, max_pending: int = MAX_PENDING):
        self.path, self.max_pending = Path(path), max_pending
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a killed process loses nothing committed
        self._db.executescript(SCHEMA)

    def put(self, alert: Alert, jpeg: bytes | None) -> int:
        with self._lock:
            seq = self._db.execute("INSERT INTO alerts(alert, jpeg) VALUES (?, ?)", (_encode(alert), jpeg)).lastrowid
            assert seq is not None  # set by the INSERT
            self._db.execute("DELETE FROM alerts WHERE seq <= ?", (seq - self.max_pending,))
        return seq

    def take(self, acknowledged: Sequence[int] = (), limit: int = 200) -> list[tuple[int, Alert, bytes | None]]:
        """Forgets the acknowledged alerts; returns (seq, alert, snapshot JPEG) of the oldest not acknowledged."""
        with self._lock:
            self._db.executemany("DELETE FROM alerts WHERE seq = ?", [(int(s),) for s in acknowledged])
            rows = self._db.execute("SELECT seq, alert, jpeg FROM alerts ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(seq, _decode(alert), jpeg) for seq, alert, jpeg in rows]

    def pending(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]

    def close(self) -> None:
        """Closes the file; an empty outbox is removed."""
        with self._lock:
            empty = self._db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0
            self._db.close()
        if empty:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
