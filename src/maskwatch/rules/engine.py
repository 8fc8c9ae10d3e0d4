"""Alert rules: a tracked face whose smoothed label alerts, held long enough, inside a restricted zone in force."""

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


class RuleEngine:
    def __init__(self, camera: str, zones: list[Zone], alert_labels, min_seconds: float, min_confidence: float,
                 cooldown_seconds: float):
        self.camera = camera
        self.zones = zones
        self.alert_labels = frozenset(alert_labels)
        self.min_seconds, self.min_confidence, self.cooldown_seconds = min_seconds, min_confidence, cooldown_seconds
        self._last_alert: dict[int, float] = {}

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

    def _prune(self, now: float) -> None:
        if len(self._last_alert) > 1000:
            horizon = max(self.cooldown_seconds, 60.0)
            self._last_alert = {t: s for t, s in self._last_alert.items() if now - s < horizon}
