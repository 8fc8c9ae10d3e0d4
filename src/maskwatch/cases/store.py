"""The cases store: face crops (JPEG, in their own folder) and their metadata in SQLite, with retention, a size cap
and the audit log.

A case holds the crop of one face and what the service knew of it: camera, zone, time, why it was kept, the model
version and the probabilities that model gave. Nothing identifies the person: no scene, no track across cameras,
no embedding. `label` stays null until a person labels the crop.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from maskwatch.cases.audit import AuditLog
from maskwatch.core.labels import CLASSES
from maskwatch.events.snapshots import resolve_in, write_atomic
from maskwatch.events.times import iso

Reason = Literal["reviewed_confirmed", "reviewed_false_alarm", "unsure", "flipped"]
CaseLabel = Literal["mask", "no_mask", "incorrect", "not_a_face"]
REASONS: tuple[str, ...] = get_args(Reason)
CASE_LABELS: tuple[str, ...] = get_args(CaseLabel)
DATABASE = "cases.db"
CROPS = "crops"
CAP_FILL = 0.9  # past the size cap, the oldest crops go until the rest fill this share of it
STRAY_SECONDS = 3600.0  # a crop file without its row (a crash between the two) is swept after this
AUDIT_RETENTION_DAYS = 400.0  # the audit log (no image, no person) outlives the crops, for a year's questions

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    camera TEXT NOT NULL,
    zone TEXT,
    reason TEXT NOT NULL,
    model_version TEXT,
    probs TEXT NOT NULL,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    event_id INTEGER,
    label TEXT,
    labelled_at REAL
);
CREATE INDEX IF NOT EXISTS cases_time ON cases(time);
CREATE INDEX IF NOT EXISTS cases_reason ON cases(reason, time);
"""


@dataclass(frozen=True)
class Case:
    id: int
    time: float
    camera: str
    zone: str | None
    reason: str
    model_version: str | None
    probs: dict[str, float]  # the model's class probabilities for this face
    file: str  # relative to the crops folder
    bytes: int
    event_id: int | None  # the alert a reviewed case comes from
    label: str | None
    labelled_at: float | None

    @property
    def guess(self) -> str:
        """The model's label: the class it gave the highest probability."""
        return max(self.probs, key=lambda k: self.probs[k])

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("file")
        out.update(timestamp=self.time, time=iso(self.time), guess=self.guess)
        out["labelled_at"] = iso(self.labelled_at) if self.labelled_at is not None else None
        return out


class CaseStore:
    """Thread-safe: one connection guarded by a lock. `folder` holds cases.db and crops/<day>/<name>.jpg."""

    def __init__(self, folder: Path, retention_days: float = 14.0, max_mb: float | None = None):
        self.folder = Path(folder)
        self.crops = self.folder / CROPS
        self.crops.mkdir(parents=True, exist_ok=True)
        self.retention_days, self.max_bytes = retention_days, (max_mb * 1e6 if max_mb else None)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.folder / DATABASE), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self.audit = AuditLog(self._db, self._lock)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- writing -----------------------------------------------------------------------------------------------

    def add(
        self,
        jpeg: bytes,
        camera: str,
        zone: str | None,
        at: float,
        reason: Reason,
        model_version: str | None,
        probs: Sequence[float],
        event_id: int | None = None,
    ) -> int:
        """Keeps one crop; returns its case id. The file is written first: a row never names a missing file."""
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}: one of {', '.join(REASONS)}")
        day = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")
        rel = f"{day}/{uuid.uuid4().hex}.jpg"
        write_atomic(self.crops / rel, jpeg)
        named = json.dumps({c: round(float(p), 4) for c, p in zip(CLASSES, probs, strict=True)})
        try:
            with self._lock:
                cur = self._db.execute(
                    "INSERT INTO cases (time, camera, zone, reason, model_version, probs, file, bytes, event_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (at, camera, zone, reason, model_version, named, rel, len(jpeg), event_id),
                )
        except BaseException:
            (self.crops / rel).unlink(missing_ok=True)
            raise
        assert cur.lastrowid is not None
        return cur.lastrowid

    def set_label(self, case_id: int, label: str | None, at: float | None = None) -> Case | None:
        """label: one of CASE_LABELS, or None to take a label back (undo). None: no such case."""
        if label is not None and label not in CASE_LABELS:
            raise ValueError(f"unknown label {label!r}: one of {', '.join(CASE_LABELS)}")
        when = None if label is None else (time.time() if at is None else at)
        with self._lock:
            cur = self._db.execute("UPDATE cases SET label = ?, labelled_at = ? WHERE id = ?", (label, when, case_id))
        return self.get(case_id) if cur.rowcount else None

    def set_reason(self, case_id: int, reason: Reason) -> None:
        with self._lock:
            self._db.execute("UPDATE cases SET reason = ? WHERE id = ?", (reason, case_id))

    def remove(self, case_ids: Sequence[int]) -> int:
        """Deletes these cases and their crops; returns how many there were."""
        removed = 0
        for start in range(0, len(case_ids), 500):
            chunk = list(case_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            with self._lock:
                files = [r[0] for r in self._db.execute(f"SELECT file FROM cases WHERE id IN ({marks})", chunk)]
                self._db.execute(f"DELETE FROM cases WHERE id IN ({marks})", chunk)
            for rel in files:
                (self.crops / rel).unlink(missing_ok=True)
            removed += len(files)
        self._drop_empty_days()
        return removed

    # --- reading -----------------------------------------------------------------------------------------------

    def get(self, case_id: int) -> Case | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        return _case(row) if row else None

    def by_event(self, event_id: int) -> Case | None:
        """The case kept of this alert, if any."""
        with self._lock:
            row = self._db.execute("SELECT * FROM cases WHERE event_id = ? LIMIT 1", (event_id,)).fetchone()
        return _case(row) if row else None

    def query(
        self,
        reason: str | None = None,
        labelled: bool | None = None,
        label: str | None = None,
        limit: int = 100,
        offset: int = 0,
        oldest_first: bool = False,
    ) -> list[Case]:
        clauses, args = _filters(reason, labelled, label)
        order = "ASC" if oldest_first else "DESC"
        sql = f"SELECT * FROM cases {clauses} ORDER BY time {order}, id {order} LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(sql, [*args, limit, offset]).fetchall()
        return [_case(r) for r in rows]

    def crop_path(self, case: Case) -> Path | None:
        return resolve_in(self.crops, case.file)

    def counts(self) -> dict:
        """{"total", "labelled", "bytes", "reasons": {reason: n}, "labels": {label or "unlabelled": n}}."""
        with self._lock:
            reasons = dict(self._db.execute("SELECT reason, COUNT(*) FROM cases GROUP BY reason").fetchall())
            labels = dict(self._db.execute("SELECT label, COUNT(*) FROM cases GROUP BY label").fetchall())
            total, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM cases").fetchone()
        unlabelled = labels.pop(None, 0)
        return {
            "total": total,
            "labelled": total - unlabelled,
            "bytes": size,
            "reasons": {r: reasons.get(r, 0) for r in REASONS},
            "labels": {**{lb: labels.get(lb, 0) for lb in CASE_LABELS}, "unlabelled": unlabelled},
        }

    # --- retention ---------------------------------------------------------------------------------------------

    def purge(self, now: float | None = None, everything: bool = False) -> int:
        """Applies retention (crops older than retention_days) and the size cap (oldest first, down to 90 % of
        it); everything: all cases. Returns how many cases went."""
        now = time.time() if now is None else now
        with self._lock:
            if everything:
                old = [r[0] for r in self._db.execute("SELECT id FROM cases")]
            else:
                cutoff = now - self.retention_days * 86400
                old = [r[0] for r in self._db.execute("SELECT id FROM cases WHERE time < ?", (cutoff,))]
        gone = self.remove(old) if old else 0
        gone += self._cap()
        self._sweep_strays(now)
        self.audit.forget_before(now - AUDIT_RETENTION_DAYS * 86400)
        return gone

    def _cap(self) -> int:
        if self.max_bytes is None:
            return 0
        with self._lock:
            (size,) = self._db.execute("SELECT COALESCE(SUM(bytes), 0) FROM cases").fetchone()
            if size <= self.max_bytes:
                return 0
            doomed, freed = [], 0
            for case_id, n in self._db.execute("SELECT id, bytes FROM cases ORDER BY time, id"):
                if size - freed <= self.max_bytes * CAP_FILL:
                    break
                doomed.append(case_id)
                freed += n
        return self.remove(doomed)

    def _sweep_strays(self, now: float) -> None:
        with self._lock:
            known = {r[0] for r in self._db.execute("SELECT file FROM cases")}
        for path in self.crops.glob("*/*"):
            rel = path.relative_to(self.crops).as_posix()
            if rel not in known and path.is_file() and now - path.stat().st_mtime > STRAY_SECONDS:
                path.unlink(missing_ok=True)
        self._drop_empty_days()

    def _drop_empty_days(self) -> None:
        for day in self.crops.iterdir():
            if day.is_dir() and not any(day.iterdir()):
                day.rmdir()


def _filters(reason: str | None, labelled: bool | None, label: str | None) -> tuple[str, list]:
    clauses, args = [], []
    if reason:
        if reason == "reviewed":  # both kinds of review
            clauses.append("reason LIKE 'reviewed_%'")
        else:
            clauses.append("reason = ?")
            args.append(reason)
    if labelled is not None:
        clauses.append("label IS NOT NULL" if labelled else "label IS NULL")
    if label:
        clauses.append("label = ?")
        args.append(label)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args


def _case(row: sqlite3.Row) -> Case:
    return Case(
        id=row["id"],
        time=row["time"],
        camera=row["camera"],
        zone=row["zone"],
        reason=row["reason"],
        model_version=row["model_version"],
        probs=json.loads(row["probs"]),
        file=row["file"],
        bytes=row["bytes"],
        event_id=row["event_id"],
        label=row["label"],
        labelled_at=row["labelled_at"],
    )
