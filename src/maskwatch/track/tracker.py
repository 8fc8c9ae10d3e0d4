"""Face tracks across frames (ByteTrack from `supervision`) and a label smoothed over each track."""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from maskwatch.core.detections import Detections, TrackLabel
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import supervision as sv


class FaceTracker:
    """Gives each face a track id; faces the tracker has not confirmed yet get -1."""

    def __init__(self, fps: float, lost_seconds: float = 2.0, match_threshold: float = 0.8, min_score: float = 0.5):
        if not hasattr(sv, "ByteTrack"):  # removed in supervision 0.31 (moved to `trackers`, which needs GUI OpenCV)
            raise UserError(f"supervision {sv.__version__} has no ByteTrack: pip install 'supervision>=0.30,<0.31'")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            # ByteTrack keeps a lost track for frame_rate/30 * lost_track_buffer frames = lost_seconds * fps.
            self._tracker = sv.ByteTrack(
                track_activation_threshold=max(0.05, min_score - 0.1),
                lost_track_buffer=max(1, round(lost_seconds * 30)),
                minimum_matching_threshold=match_threshold,
                frame_rate=fps,
            )

    def update(self, dets: Detections) -> Detections:
        n = len(dets)
        dets.track_ids = np.full(n, -1, np.int64)
        sv_dets = sv.Detections(
            xyxy=dets.xyxy.astype(np.float32).reshape(-1, 4),
            confidence=dets.det_scores.astype(np.float32),
            class_id=np.zeros(n, int),
            data={"index": np.arange(n)},
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            tracked = self._tracker.update_with_detections(sv_dets)
        if len(tracked) and tracked.tracker_id is not None:
            dets.track_ids[tracked.data["index"]] = tracked.tracker_id
        return dets


@dataclass
class _TrackHistory:
    probs: deque
    first_seen: float
    last_seen: float = 0.0
    label: str | None = None
    label_since: float = 0.0
    extra: dict = field(default_factory=dict)


class LabelSmoother:
    """Mean class probabilities over a track's last `window` frames, and how long that label has held.

    One bad frame moves the mean a little but rarely flips it, and a flip restarts the hold time.
    """

    def __init__(self, window: int = 5, forget_seconds: float = 10.0):
        self.window, self.forget_seconds = window, forget_seconds
        self._tracks: dict[int, _TrackHistory] = {}

    def update(self, track_id: int, probs: np.ndarray, now: float) -> TrackLabel:
        h = self._tracks.get(track_id)
        if h is None:
            h = self._tracks[track_id] = _TrackHistory(deque(maxlen=self.window), first_seen=now)
        h.probs.append(np.asarray(probs, np.float32))
        h.last_seen = now
        mean = np.mean(h.probs, axis=0)
        label = CLASSES[int(mean.argmax())]
        if label != h.label:
            h.label, h.label_since = label, now
        return TrackLabel(track_id, label, float(mean.max()), now - h.label_since, h.first_seen, now, mean)

    def prune(self, now: float) -> None:
        for tid in [t for t, h in self._tracks.items() if now - h.last_seen > self.forget_seconds]:
            del self._tracks[tid]

    def __len__(self) -> int:
        return len(self._tracks)
