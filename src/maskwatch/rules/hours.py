"""When a restricted zone is in force: weekly windows such as "mon-fri 08:00-18:00", in the configured time zone
(`rules.timezone`) or else the machine's local time.

A window whose end is not after its start runs past midnight ("fri 22:00-06:00" covers Friday night into Saturday
morning, the early part counted to Friday). "24:00" is the end of the day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ENTRY = re.compile(r"^\s*(?P<days>[a-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after midnight
    end: int

    def covers(self, day: int, minute: int) -> bool:
        if self.start < self.end:
            return day in self.days and self.start <= minute < self.end
        # past midnight: the evening of one of the days, or the early hours of the day after it
        return (day in self.days and minute >= self.start) or ((day - 1) % 7 in self.days and minute < self.end)


def parse_window(text: str) -> Window:
    """ "mon-fri 08:00-18:00", "sat,sun 10:00-14:00", "daily 00:00-24:00"; ValueError with what is wrong."""
    match = _ENTRY.match(text.lower())
    if not match:
        raise ValueError(f"{text!r}: write DAYS HH:MM-HH:MM, e.g. 'mon-fri 08:00-18:00'")
    start, end = _minutes(match["start"], text), _minutes(match["end"], text)
    if start >= 24 * 60 or start == end:
        raise ValueError(f"{text!r}: the window is empty or starts at 24:00")
    return Window(frozenset(_days(match["days"], text)), start, end)


def in_force(windows: tuple[Window, ...], timestamp: float, tz: tzinfo | None = None) -> bool:
    """True when no windows are given (always) or one of them covers `timestamp` in `tz` (None: local time)."""
    if not windows:
        return True
    local = datetime.fromtimestamp(timestamp, tz)
    return any(w.covers(local.weekday(), local.hour * 60 + local.minute) for w in windows)


def time_zone(name: str) -> ZoneInfo:
    """An IANA time zone such as "Europe/Berlin"; ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone: write an IANA name such as 'Europe/Berlin' or 'UTC'") from None


def _minutes(hhmm: str, text: str) -> int:
    hours, minutes = (int(v) for v in hhmm.split(":"))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"{text!r}: {hhmm} is not a time of day")
    return hours * 60 + minutes


def _days(spec: str, text: str) -> set[int]:
    if spec.strip() == "daily":
        return set(range(7))
    days: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{text!r}: days are {', '.join(DAYS)} or daily, as 'mon-fri' or 'sat,sun'")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update((a + k) % 7 for k in range((b - a) % 7 + 1))  # "sat-mon" wraps the week
    return days
