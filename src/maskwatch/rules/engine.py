"""Alert rules: a tracked face whose smoothed label alerts (in that zone: its own alert_labels, or the rules'), held
long enough, inside a restricted zone in force.

The same bar makes a sighting: each tracked face counted once, for compliance figures (people per label, camera
and zone; counts only, nothing that tells people apart). A face that later holds a worse label (a mask pulled down)
is moved to it, in the hour and zone it was first counted in, so that the figures err toward non-compliance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from maskwatch.core.detections import TrackLabel
from maskwatch.rules.zones import Zone, ignored, zone_of


@dataclass
class Alert:
    camera: str
    zone: str
    track_id: int
    label: str
    confidence: float
    box: tuple[float, float, float, float]
    face_index: int  # index of the face in the frame's detections (for the snapshot)
    time: float
    held_seconds: float = 0.0  # how long the smoothed label had held when it alerted


SEVERITY = {"mask": 0, "incorrect": 1, "no_mask": 2}  # a counted face moves only to a worse label


@dataclass(frozen=True)
class Sighting:
    camera: str
    zone: str | None  # None: in no zone of a camera that has zones
    label: str
    time: float
    people: int = 1  # -1 takes a face back from the label it was counted under


@dataclass
class _Counted:
    label: str
    zone: str | None
    time: float  # when first counted: a move lands in the same hour
    last_seen: float


class RuleEngine:
    def __init__(
        self,
        camera: str,
        zones: list[Zone],
        alert_labels: Iterable[str],
        min_seconds: float,
        min_confidence: float,
        cooldown_seconds: float,
    ):
        self.camera = camera
        self.zones = zones
        self.alert_labels = frozenset(alert_labels)
        self.min_seconds, self.min_confidence, self.cooldown_seconds = min_seconds, min_confidence, cooldown_seconds
        self._last_alert: dict[int, float] = {}
        self._counted: dict[int, _Counted] = {}  # by track id

    def check(self, faces: list[tuple[int, TrackLabel, tuple]], width: int, height: int, now: float) -> list[Alert]:
        """faces: (index in detections, smoothed track label, box xyxy) for tracked faces of one frame."""
        alerts = []
        for index, tl, box in faces:
            if tl.stable_seconds < self.min_seconds or tl.confidence < self.min_confidence:
                continue
            if ignored(box, width, height, self.zones):
                continue
            zone = zone_of(box, width, height, self.zones)
            if zone is None or not zone.restricted_at(now):
                continue
            if tl.label not in (self.alert_labels if zone.alert_labels is None else zone.alert_labels):
                continue
            last = self._last_alert.get(tl.track_id)
            if last is not None and now - last < self.cooldown_seconds:
                continue
            self._last_alert[tl.track_id] = now
            alerts.append(
                Alert(
                    self.camera,
                    zone.name,
                    tl.track_id,
                    tl.label,
                    tl.confidence,
                    (float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                    index,
                    now,
                    round(float(tl.stable_seconds), 2),
                )
            )
        self._prune(now)
        return alerts

    def offending(self, faces: list[tuple[int, TrackLabel, tuple]], width: int, height: int, now: float) -> set[int]:
        """Track ids of the faces that would alert once their label has held (clips mark them): an alerting label
        at rules.min_confidence, in a restricted zone in force, whatever the hold time and cooldown."""
        out = set()
        for _, tl, box in faces:
            if tl.confidence < self.min_confidence or ignored(box, width, height, self.zones):
                continue
            zone = zone_of(box, width, height, self.zones)
            if zone is None or not zone.restricted_at(now):
                continue
            if tl.label in (self.alert_labels if zone.alert_labels is None else zone.alert_labels):
                out.add(tl.track_id)
        return out

    def retract(self, alert: Alert) -> None:
        """An alert that could not be kept: its track is not held back by the cooldown, it may alert again."""
        if self._last_alert.get(alert.track_id) == alert.time:
            del self._last_alert[alert.track_id]

    def count(self, faces: list[tuple[int, TrackLabel, tuple]], width: int, height: int, now: float) -> list[Sighting]:
        """Tracks whose smoothed label has held `min_seconds` at `min_confidence`, each once, in all zones; a counted
        track that holds a worse label is moved to it (a -1 and a +1)."""
        sightings = []
        for _, tl, box in faces:
            if ignored(box, width, height, self.zones):
                continue
            counted = self._counted.get(tl.track_id)
            if counted is not None:
                counted.last_seen = now
            if tl.stable_seconds < self.min_seconds or tl.confidence < self.min_confidence:
                continue
            if counted is None:
                zone = zone_of(box, width, height, self.zones)
                counted = self._counted[tl.track_id] = _Counted(tl.label, zone.name if zone else None, now, now)
                sightings.append(Sighting(self.camera, counted.zone, tl.label, now))
            elif SEVERITY.get(tl.label, 0) > SEVERITY.get(counted.label, 0):
                sightings += [
                    Sighting(self.camera, counted.zone, counted.label, counted.time, -1),
                    Sighting(self.camera, counted.zone, tl.label, counted.time),
                ]
                counted.label = tl.label
        if len(self._counted) > 1000:  # track ids only grow: ones unseen for a minute are gone for good
            self._counted = {t: c for t, c in self._counted.items() if now - c.last_seen < 60.0}
        return sightings

    def _prune(self, now: float) -> None:
        if len(self._last_alert) > 1000:
            horizon = max(self.cooldown_seconds, 60.0)
            self._last_alert = {t: s for t, s in self._last_alert.items() if now - s < horizon}
