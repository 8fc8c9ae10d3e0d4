"""Events as CSV, for compliance reports in a spreadsheet."""

from __future__ import annotations

import csv
import io

COLUMNS = ["id", "time", "camera", "zone", "track_id", "label", "confidence", "x1", "y1", "x2", "y2", "snapshot",
           "review"]


def events_csv(events: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in events:
        box = e.get("box") or [""] * 4
        writer.writerow([e["id"], e["time"], e["camera"], e["zone"], e["track_id"], e["label"], e["confidence"], *box,
                         e.get("snapshot") or "", e.get("review") or ""])
    return out.getvalue()
