"""The cases' audit log: who (role) did what (view, label, export, purge) to which crops, and when.

It lives in the cases database (table `audit`) and holds no image and no personal data: a role, a time, an action
and the case ids or counts it touched. Web routes and the CLI write it through `AuditLog.write`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Literal

Action = Literal["view", "list", "label", "unlabel", "export", "purge"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
"""


@dataclass(frozen=True)
class AuditEntry:
    time: float
    role: str  # admin (the web's admin token) or cli (a person at the machine)
    action: str
    what: str  # e.g. "case 12 -> no_mask", "export 40 crops to /srv/out"


class AuditLog:
    """Writes and reads the audit table of a cases database (its connection and lock are the store's)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock):
        self._db, self._lock = db, lock
        with self._lock:
            self._db.executescript(SCHEMA)

    def write(self, role: str, action: Action, what: str, at: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO audit (time, role, action, what) VALUES (?, ?, ?, ?)",
                (time.time() if at is None else at, role, action, what),
            )

    def forget_before(self, cutoff: float) -> int:
        """Drops entries older than `cutoff` (epoch seconds); returns how many."""
        with self._lock:
            return self._db.execute("DELETE FROM audit WHERE time < ?", (cutoff,)).rowcount

    def entries(self, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        where, args = ("WHERE action = ?", [action]) if action else ("", [])
        with self._lock:
            rows = self._db.execute(
                f"SELECT time, role, action, what FROM audit {where} ORDER BY id DESC LIMIT ?", [*args, limit]
            ).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3]) for r in rows]
