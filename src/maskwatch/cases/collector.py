"""What the service keeps of the faces it sees when `collect:` is on: crops of unsure faces and of tracks whose
label flipped (from the camera analysis), and of alerts a reviewer marked (held in memory from the alert until the
review). Every hook swallows and logs its own failure: collecting never costs an alert or a frame."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maskwatch.cases.crops import encode_jpeg, face_crop, face_side
from maskwatch.cases.store import DATABASE, CaseStore, Reason
from maskwatch.config import AppConfig, CollectConfig
from maskwatch.core.detections import BoxLike, Detections
from maskwatch.rules import Zone
from maskwatch.rules.zones import zone_of

log = logging.getLogger(__name__)

Probs = np.ndarray | Sequence[float]  # the classifier's probabilities of mask, no_mask, incorrect
HOUR = 3600.0
PENDING_MAX = 1000  # alert crops held for their review (in memory only: gone at a restart), oldest dropped first
PURGE_EVERY = 600.0  # seconds between retention and size-cap checks


@dataclass(frozen=True)
class PendingCrop:
    jpeg: bytes
    camera: str
    zone: str | None
    time: float
    probs: tuple[float, ...]


def top_margin(probs: np.ndarray) -> float:
    """Top-1 minus top-2 probability: small where the classifier hesitates between two classes."""
    ordered = np.sort(np.asarray(probs, np.float64))[::-1]
    return float(ordered[0] - ordered[1]) if len(ordered) > 1 else 1.0


class HourlyBudget:
    """At most `per_hour` takes per key within any hour (of the frames' own time)."""

    def __init__(self, per_hour: int):
        self.per_hour = per_hour
        self._taken: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def take(self, key: tuple[str, str], at: float) -> bool:
        taken = self._taken[key]
        while taken and at - taken[0] >= HOUR:
            taken.popleft()
        if len(taken) >= self.per_hour:
            return False
        taken.append(at)
        return True


class CaseCollector:
    """The hooks between the service and the cases store. model_version: the classifier's (`MaskClassifier.version`)."""

    def __init__(self, config: CollectConfig, store: CaseStore, model_version: str | None):
        self.config, self.store, self.model_version = config, store, model_version
        self.enabled = config.enabled  # else only the store is open (labelling, export, retention)
        self.reasons = set(config.reasons)
        self._unsure = HourlyBudget(config.unsure_per_camera_per_hour)
        self._flipped = HourlyBudget(config.flipped_per_camera_per_hour)
        self._labels: dict[str, dict[int, tuple[str, float]]] = defaultdict(dict)  # camera -> track -> (label, seen)
        self._unsure_tracks: dict[str, dict[int, float]] = defaultdict(dict)  # one unsure crop per track
        self._pending: OrderedDict[int, PendingCrop] = OrderedDict()
        self._lock = threading.Lock()
        self.kept = 0  # crops kept since the start
        self.failed = 0  # crops that could not be kept (logged)
        self._stop = threading.Event()
        self._purger: threading.Thread | None = None

    # --- the camera analysis -------------------------------------------------------------------------------------

    def faces(
        self, camera: str, image: np.ndarray, at: float, tracked: Detections, labels: dict[int, str], zones: list[Zone]
    ) -> None:
        """One analysed frame: its tracked faces (raw probabilities) and each track's smoothed label."""
        try:
            self._faces(camera, image, at, tracked, labels, zones)
        except Exception:
            self.failed += 1
            log.exception("camera %s: keeping a case failed", camera)

    def _faces(
        self, camera: str, image: np.ndarray, at: float, tracked: Detections, labels: dict[int, str], zones: list[Zone]
    ) -> None:
        if tracked.class_probs is None or tracked.track_ids is None:
            return
        h, w = image.shape[:2]
        previous, unsure_seen = self._labels[camera], self._unsure_tracks[camera]
        for i, tid in enumerate(int(t) for t in tracked.track_ids):
            if tid < 0 or tid not in labels:
                continue
            box, probs = tracked.xyxy[i], tracked.class_probs[i]
            before = previous.get(tid)
            previous[tid] = (labels[tid], at)
            reason: Reason | None = None
            if "flipped" in self.reasons and before is not None and before[0] != labels[tid]:
                reason = "flipped" if self._flipped.take((camera, "flipped"), at) else None
            elif "unsure" in self.reasons and tid not in unsure_seen and top_margin(probs) < self.config.unsure_margin:
                reason = "unsure" if self._unsure.take((camera, "unsure"), at) else None
                if reason:
                    unsure_seen[tid] = at
            if reason and face_side(box) >= self.config.min_face_px:
                zone = zone_of(box, w, h, zones)
                self._keep(image, box, camera, zone.name if zone else None, at, reason, probs)
        self._forget(camera, at)

    def _forget(self, camera: str, at: float) -> None:
        """Tracks unseen for a minute are dropped (their ids are not reused soon)."""
        labels, unsure = self._labels[camera], self._unsure_tracks[camera]
        for tid in [t for t, (_, seen) in labels.items() if at - seen > 60]:
            del labels[tid]
            unsure.pop(tid, None)

    def _keep(
        self, image: np.ndarray, box: BoxLike, camera: str, zone: str | None, at: float, reason: Reason, probs: Probs
    ) -> None:
        crop = face_crop(image, box, self.config.margin, self.config.crop_max_side)
        if crop is None:
            return
        jpeg = encode_jpeg(crop, self.config.jpeg_quality)
        self.store.add(jpeg, camera, zone, at, reason, self.model_version, [float(p) for p in probs])
        self.kept += 1

    # --- alerts and their review ---------------------------------------------------------------------------------

    def alert(
        self, event_id: int, camera: str, zone: str | None, at: float, image: np.ndarray, box: BoxLike, probs: Probs
    ) -> None:
        """An alert was stored: its face crop is held (in memory) until a reviewer says what it was."""
        if "reviewed" not in self.reasons:
            return
        try:
            crop = face_crop(image, box, self.config.margin, self.config.crop_max_side)
            if crop is None:
                return
            held = PendingCrop(encode_jpeg(crop, self.config.jpeg_quality), camera, zone, at, tuple(map(float, probs)))
            with self._lock:
                self._pending[event_id] = held
                while len(self._pending) > PENDING_MAX:
                    self._pending.popitem(last=False)
        except Exception:
            self.failed += 1
            log.exception("camera %s: holding the crop of event %d failed", camera, event_id)

    def reviewed(self, event_id: int, review: str | None) -> None:
        """A reviewer marked the alert confirmed or false_alarm (a case is kept, or its reason changed) or took the
        review back (the case goes, unless it has been labelled)."""
        try:
            self._reviewed(event_id, review)
        except Exception:
            self.failed += 1
            log.exception("keeping the case of event %d failed", event_id)

    def _reviewed(self, event_id: int, review: str | None) -> None:
        existing = self.store.by_event(event_id)
        if review is None:
            if existing is not None and existing.label is None:
                self.store.remove([existing.id])
            return
        reason: Reason = "reviewed_confirmed" if review == "confirmed" else "reviewed_false_alarm"
        if existing is not None:
            self.store.set_reason(existing.id, reason)
            return
        with self._lock:
            held = self._pending.get(event_id)
        if held is None:
            return  # raised before the service started, or before collection was on
        self.store.add(held.jpeg, held.camera, held.zone, held.time, reason, self.model_version, held.probs, event_id)
        self.kept += 1

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    # --- retention -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._purger = threading.Thread(target=self._purge_loop, name="cases-retention", daemon=True)
        self._purger.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._purger is not None:
            self._purger.join(timeout)
            self._purger = None

    def _purge_loop(self) -> None:
        while True:
            try:
                gone = self.store.purge(time.time())
                if gone:
                    log.info("cases: %d crop(s) past retention or the size cap removed", gone)
            except Exception:
                log.exception("cases: retention failed")
            if self._stop.wait(PURGE_EVERY):
                return


def open_collector(config: AppConfig, model_version: str | None) -> CaseCollector | None:
    """The service's collector: where `collect:` is on, or where crops kept earlier are still there (to be labelled,
    exported and expired even after collection was turned off); None otherwise."""
    folder, collect = config.cases_folder, config.collect
    if not collect.enabled and not (folder / DATABASE).is_file():
        return None
    return CaseCollector(collect, CaseStore(folder, collect.retention_days, collect.max_mb), model_version)
