"""Zones: polygons in relative coordinates; a face belongs to the zone that contains its box's centre, and is left
out altogether where an ignored zone (a poster, a screen) contains it, whatever the zones' order.

The centre rather than the bottom-centre: for a face box the bottom edge is the chin, which sits on zone
borders drawn at head height as often as not, while the centre is where the head actually is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol

import cv2
import numpy as np

from maskwatch.core.detections import BoxLike
from maskwatch.rules.hours import Window, in_force, parse_window

WHOLE_FRAME = "frame"


class ZoneSettings(Protocol):
    """A zone as the config gives it (maskwatch.config.ZoneConfig)."""

    @property
    def name(self) -> str: ...
    @property
    def polygon(self) -> Sequence[tuple[float, float]]: ...
    @property
    def restricted(self) -> bool: ...
    @property
    def hours(self) -> Sequence[str]: ...
    @property
    def alert_labels(self) -> Sequence[str] | None: ...
    @property
    def ignore(self) -> bool: ...


@dataclass(frozen=True)
class Zone:
    name: str
    polygon: np.ndarray  # (K, 2) float32 relative coordinates
    restricted: bool
    hours: tuple[Window, ...] = ()  # when a restricted zone is in force; empty: always
    tz: tzinfo | None = None  # the hours' time zone; None: the machine's local time
    alert_labels: frozenset[str] | None = None  # the labels that alert here; None: the rules' own
    ignore: bool = False  # faces here are left out

    def restricted_at(self, timestamp: float) -> bool:
        return self.restricted and in_force(self.hours, timestamp, self.tz)

    def contains(self, x_rel: float, y_rel: float) -> bool:
        return cv2.pointPolygonTest(self.polygon.reshape(-1, 1, 2), (float(x_rel), float(y_rel)), False) >= 0


def make_zones(zone_configs: Sequence[ZoneSettings], tz: tzinfo | None = None) -> list[Zone]:
    """From config zones, their hours read in `tz`; no zones at all means the whole frame is one restricted zone."""
    if not zone_configs:
        return [Zone(WHOLE_FRAME, np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32), True)]
    return [
        Zone(
            z.name,
            np.asarray(z.polygon, np.float32),
            z.restricted,
            tuple(parse_window(h) for h in z.hours),
            tz,
            frozenset(z.alert_labels) if z.alert_labels else None,
            z.ignore,
        )
        for z in zone_configs
    ]


def _centre(box: BoxLike, width: int, height: int) -> tuple[float, float]:
    return (box[0] + box[2]) / 2 / width, (box[1] + box[3]) / 2 / height


def zone_of(box: BoxLike, width: int, height: int, zones: list[Zone]) -> Zone | None:
    """The first zone (in config order) that is not ignored and contains the face box's centre, or None."""
    x, y = _centre(box, width, height)
    return next((z for z in zones if not z.ignore and z.contains(x, y)), None)


def ignored(box: BoxLike, width: int, height: int, zones: list[Zone]) -> bool:
    """Whether an ignored zone contains the face box's centre."""
    x, y = _centre(box, width, height)
    return any(z.ignore and z.contains(x, y) for z in zones)
