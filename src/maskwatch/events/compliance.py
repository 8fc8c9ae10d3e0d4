"""Compliance figures from the hourly sighting counts: people per label, camera and zone, by hour or by day."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, tzinfo

from maskwatch.core.labels import CLASSES

BUCKETS = ("hour", "day", "all")


def midnight(day: date, tz: tzinfo | None = None) -> float:
    """Epoch seconds of the day's start in `tz` (None: the machine's local time)."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)  # naive (local wall time) where tz is None
    return (start if tz else start.astimezone()).timestamp()


def days_back(days: int, tz: tzinfo | None = None, now: float | None = None) -> float:
    """The start of the day `days - 1` days before today in `tz` (1: today's midnight), as epoch seconds."""
    return midnight(
        datetime.fromtimestamp(time.time() if now is None else now, tz).date() - timedelta(days=days - 1), tz
    )


def compliance_table(rows: list[dict], bucket: str = "day", tz: tzinfo | None = None) -> list[dict]:
    """Rows of EventStore.sightings() summed per (hour or day in `tz`, or all of them; camera; zone), oldest first:
    {start (ISO 8601 with offset; None for 'all'), camera, zone, people, mask, no_mask, incorrect, masked_share}.
    zone None: faces outside every zone of a camera that has zones. tz None: the machine's local time."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")
    table: dict[tuple, dict] = {}
    for r in rows:
        start = datetime.fromtimestamp(r["hour"], tz).astimezone(tz)
        if bucket == "day":
            start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        key = (None if bucket == "all" else start.isoformat(), r["camera"], r["zone"] or None)
        entry = table.setdefault(
            key, {"start": key[0], "camera": key[1], "zone": key[2], "people": 0, **dict.fromkeys(CLASSES, 0)}
        )
        entry[r["label"]] = entry.get(r["label"], 0) + r["people"]
        entry["people"] += r["people"]
    for entry in table.values():
        entry["masked_share"] = round(entry["mask"] / entry["people"], 4) if entry["people"] else None
    return sorted(table.values(), key=lambda e: (e["start"] or "", e["camera"], e["zone"] or ""))


def review_table(counts: list[tuple[str, str, str, int]]) -> list[dict]:
    """Per camera and zone (None: no zone): alerts, how many people confirmed or called false alarms, how many wait,
    and the false-alarm rate among the reviewed (None until one is reviewed): the figure an operator tunes on."""
    rows: dict[tuple[str, str], dict] = {}
    for camera, zone, review, n in counts:
        row = rows.setdefault(
            (camera, zone),
            {"camera": camera, "zone": zone or None, "alerts": 0, "confirmed": 0, "false_alarm": 0, "unreviewed": 0},
        )
        row[review] += n
        row["alerts"] += n
    for row in rows.values():
        reviewed = row["confirmed"] + row["false_alarm"]
        row["false_alarm_rate"] = round(row["false_alarm"] / reviewed, 4) if reviewed else None
    return [rows[key] for key in sorted(rows)]
