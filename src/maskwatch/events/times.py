"""Points in time as callers give them (epoch seconds, datetimes, ISO 8601 text) and as the store writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeAlias

# A point in time as callers give it: epoch seconds, a datetime, an ISO 8601 string; None or "": open.
TimeLike: TypeAlias = float | str | datetime | None


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_timestamp(since: TimeLike) -> float | None:
    """since: None, epoch seconds, a datetime or an ISO 8601 string."""
    if since is None or since == "":
        return None
    if isinstance(since, (int, float)):
        return float(since)
    if isinstance(since, datetime):
        return (since if since.tzinfo else since.replace(tzinfo=UTC)).timestamp()
    text = str(since).strip()
    try:
        return float(text)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def span_clauses(since: TimeLike, until: TimeLike, after: str, before: str) -> tuple[list[str], list[object]]:
    """WHERE clauses and their values for a time span; either end may be None (open)."""
    where: list[str] = []
    args: list[object] = []
    for value, clause in ((since, after), (until, before)):
        if (t := to_timestamp(value)) is not None:
            where.append(clause)
            args.append(t)
    return where, args
