"""The daily summary e-mail (`sinks.email.daily_summary: "07:00"`): each day at that time in rules.timezone, the day
before's people counts per camera and zone and its alerts, for whoever answers for compliance rather than for each
alert. Retried until the mail server takes it; a day whose summary could not go out before the next one is due is
skipped, since the next carries on from there and the figures stay in the UI and its CSV."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo

from maskwatch.core.labels import CLASSES, DISPLAY

log = logging.getLogger(__name__)


def next_run(now: float, at: str, tz: tzinfo | None) -> float:
    """The first time at or after `now` when the wall clock in `tz` reads `at` (HH:MM)."""
    hour, minute = map(int, at.split(":"))
    day = datetime.fromtimestamp(now, tz).date()
    while True:
        wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)  # naive (local) where tz is None
        due = (wall if tz else wall.astimezone()).timestamp()
        if due >= now:
            return due
        day += timedelta(days=1)


def summary_text(day: date, table: list[dict], alerts: list[dict], tz_name: str) -> tuple[str, str]:
    """(subject, body) for a day's compliance table (events.compliance_table, bucket 'all') and alerts."""
    people = sum(r["people"] for r in table)
    masked = sum(r["mask"] for r in table)
    share = f"{masked / people:.1%} masked" if people else "no one seen"
    subject = f"maskwatch: {day.isoformat()}: {people} people seen, {share}, {len(alerts)} alerts"
    lines = [
        (
            f"People seen on {day.strftime('%A %Y-%m-%d')} ({tz_name}), each tracked face once under the worst "
            "label it held:"
        ),
        "",
    ]
    header = ("camera", "zone", "people", *(DISPLAY[c].lower() for c in CLASSES), "masked")
    rows = [
        (
            r["camera"],
            r["zone"] or "(no zone)",
            str(r["people"]),
            *(str(r[c]) for c in CLASSES),
            f"{r['masked_share']:.1%}" if r["masked_share"] is not None else "-",
        )
        for r in table
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines += (
        [
            "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
            for row in (header, *rows)
        ]
        if rows
        else ["(no one)"]
    )
    lines += ["", f"Alerts: {len(alerts)}"]
    if alerts:
        by_label = sorted(Counter(a["label"] for a in alerts).items())
        by_review = sorted(Counter(a["review"] or "unreviewed" for a in alerts).items())
        lines[-1] += " (" + ", ".join(f"{DISPLAY[k].lower()} {n}" for k, n in by_label) + ")"
        lines.append("Reviewed: " + ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in by_review))
    return subject, "\n".join(lines) + "\n"


class DailySummary:
    """A thread that sends `compose(day)` (subject, body) for the day before, each day at `at` in `tz`."""

    def __init__(
        self,
        send: Callable[[str, str], None],
        compose: Callable[[date], tuple[str, str]],
        at: str,
        tz: tzinfo | None,
        retry_start: float = 5.0,
        retry_max: float = 900.0,
    ):
        self.send, self.compose, self.at, self.tz = send, compose, at, tz
        self.retry_start, self.retry_max = retry_start, retry_max
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="daily-summary", daemon=True)
        self.sent: list[date] = []

    def start(self, first: float | None = None) -> None:
        self._due = first if first is not None else next_run(time.time(), self.at, self.tz)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop_event.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = self.retry_start
        while not self._stop_event.wait(max(0.0, min(60.0, self._due - time.time()))):
            if time.time() < self._due:
                continue
            day = datetime.fromtimestamp(self._due, self.tz).date() - timedelta(days=1)
            following = next_run(self._due + 60, self.at, self.tz)
            try:
                self.send(*self.compose(day))
            except Exception as err:  # noqa: BLE001 (any failure to send is retried)
                if time.time() + backoff < following:
                    log.warning("daily summary for %s not sent: %s (will retry)", day, err)
                    self._stop_event.wait(backoff)
                    backoff = min(backoff * 2, self.retry_max)
                    continue
                log.warning("daily summary for %s not sent: %s (given up: the next one is due)", day, err)
            else:
                self.sent.append(day)
            self._due, backoff = following, self.retry_start
