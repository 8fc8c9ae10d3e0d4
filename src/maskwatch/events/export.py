"""Events and compliance figures as CSV, for reports in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

COLUMNS = [
    "id",
    "time",
    "camera",
    "zone",
    "track_id",
    "label",
    "confidence",
    "held_seconds",
    "x1",
    "y1",
    "x2",
    "y2",
    "snapshot",
    "clip",
    "review",
    "model_version",
]
COMPLIANCE_COLUMNS = ["start", "camera", "zone", "people", "mask", "no_mask", "incorrect", "masked_share"]


def events_csv(events: list[dict]) -> str:
    return _csv(
        COLUMNS,
        (
            [
                e["id"],
                e["time"],
                e["camera"],
                e["zone"],
                e["track_id"],
                e["label"],
                e["confidence"],
                "" if e.get("held_seconds") is None else e["held_seconds"],
                *(e.get("box") or [""] * 4),
                e.get("snapshot") or "",
                e.get("clip") or "",
                e.get("review") or "",
                e.get("model_version") or "",
            ]
            for e in events
        ),
    )


def compliance_csv(rows: list[dict]) -> str:
    """Rows of events.compliance.compliance_table; an empty zone is 'no zone', an empty start the whole span."""
    return _csv(COMPLIANCE_COLUMNS, ([r[c] if r[c] is not None else "" for c in COMPLIANCE_COLUMNS] for r in rows))


def _csv(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
