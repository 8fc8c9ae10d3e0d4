"""Alert rules: a tracked face whose smoothed label alerts, held long enough, inside a restricted zone in force.

The same bar makes a sighting: each tracked face counted once, under the label it first held, for compliance
figures (people per label, camera and zone; counts only, nothing that tells people apart)."""

from __future__ import annotations

from dataclasses import dataclass

from maskwatch.rules.zones import Zone, zone_of
from maskwatch.types import TrackLabel


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


@dataclass(frozen=True)
class Sighting:
    camera: str
    zone: str | None  # None: in no zone of a camera that has zones
    label: str
    time: float


class RuleEngine:
    def __init__(self, camera: str, zones: list[Zone], alert_labels, min_seconds: float, min_confidence: float,
                 cooldown_seconds: float):
        self.camera = camera
        self.zones = zones
        self.alert_labels = frozenset(alert_labels)
        self.min_seconds, self.min_confidence, self.cooldown_seconds = min_seconds, min_confidence, cooldown_seconds
        self._last_alert: dict[int, float] = {}
        self._counted: dict[int, float] = {}  # track id → last seen, for tracks already counted as a sighting

    def check(self, faces: list[tuple[int, TrackLabel, tuple]], width: int, height: int, now: float) -> list[Alert]:
        """faces: (index in detections, smoothed track label, box xyxy) for tracked faces of one frame."""
        alerts = []
        for index, tl, box in faces:
            if tl.label not in self.alert_labels or tl.stable_seconds < self.min_seconds or tl.confidence < self.min_confidence:
                continue
            zone = zone_of(box, width, height, self.zones)
            if zone is None or not zone.restricted_at(now):
                continue
            last = self._last_alert.get(tl.track_id)
            if last is not None and now - last < self.cooldown_seconds:
                continue
            self._last_alert[tl.track_id] = now
            alerts.append(Alert(self.camera, zone.name, tl.track_id, tl.label, tl.confidence,
                                tuple(float(v) for v in box), index, now))
        self._prune(now)
        return alerts

    def count(self, faces: list[tuple[int, TrackLabel, tuple]], width: int, height: int, now: float) -> list[Sighting]:
        """Tracks whose smoothed label has held `min_seconds` at `min_confidence`, each once; all labels, all zones."""
        sightings = []
        for _, tl, box in faces:
            if tl.track_id in self._counted:
                self._counted[tl.track_id] = now
            elif tl.stable_seconds >= self.min_seconds and tl.confidence >= self.min_confidence:
                self._counted[tl.track_id] = now
                zone = zone_of(box, width, height, self.zones)
                sightings.append(Sighting(self.camera, zone.name if zone else None, tl.label, now))
        if len(self._counted) > 1000:  # track ids only grow: ones unseen for a minute are gone for good
            self._counted = {t: s for t, s in self._counted.items() if now - s < 60.0}
        return sightings

    def _prune(self, now: float) -> None:
        if len(self._last_alert) > 1000:
            horizon = max(self.cooldown_seconds, 60.0)
            self._last_alert = {t: s for t, s in self._last_alert.items() if now - s < horizon}
