"""One camera's analysis: frame → faces found → tracked → label smoothed per track → rules (alerts, people counts).

`CameraAnalyser` needs no service, store, sinks or web: build it from a camera's and the app's config and a
pipeline, feed it frames with their times (a video's own times work: nothing here reads the clock) one at a time,
and each call returns what the live view shows for that frame. What it raises goes to an `AnalysisOutput`:

    analyser = CameraAnalyser(config.camera("door"), config, make_pipeline(config.detector))
    for seq, (image, at) in enumerate(frames_of(video), 1):
        result = analyser.process(Frame(image, seq, at))  # result.faces, result.alerts, result.sightings

The service runs one analyser per camera, with one detector call for the frames of all cameras
(`maskwatch.analysis.finder.find_faces`, then `analyse` per camera).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from maskwatch.analysis import render
from maskwatch.analysis.finder import FaceFinder, camera_phase
from maskwatch.backends import Pipeline
from maskwatch.config import AppConfig, CameraConfig, DetectorConfig, ZoneConfig
from maskwatch.core.detections import Detections
from maskwatch.core.labels import CLASSES, UNMASKED
from maskwatch.detect.regions import RegionSettings
from maskwatch.rules import Alert, RuleEngine, Sighting, Zone, ignored, make_zones
from maskwatch.sources import Frame
from maskwatch.track import FaceTracker, LabelSmoother

log = logging.getLogger(__name__)

PRUNE_SECONDS = 1.0  # tracks' label histories unseen for long are dropped this often (in the frames' time)


@dataclass
class FrameResult:
    """What one analysed frame shows: the live view draws `faces` and hides `hidden`."""

    camera: str
    seq: int
    time: float
    width: int
    height: int
    faces: Detections  # faces kept (detector.min_score, not in an ignored zone): tracked, class_probs smoothed
    hidden: np.ndarray  # (N, 4) boxes to hide: every face found, doubtful ones (privacy.blur_min_score) included
    alerts: list[Alert]  # raised on this frame (and handed to the output)
    sightings: list[Sighting]  # people counted on this frame
    detected: bool  # the detector ran on it (else nothing had moved: the last faces were kept); see FaceFinder

    @property
    def labels(self) -> list[str]:
        return self.faces.labels

    @property
    def masked(self) -> int:
        return sum(1 for label in self.labels if label == "mask")

    @property
    def unmasked(self) -> int:
        return sum(1 for label in self.labels if label in UNMASKED)


@dataclass
class RaisedAlert:
    """An alert with the frame it was raised on, for its snapshot."""

    alert: Alert
    image: np.ndarray
    hidden: np.ndarray  # the boxes to hide in it
    offender: int  # the index in `hidden` of the face that alerted
    probs: np.ndarray | None = None  # the classifier's probabilities for that face on this frame


class FaceHook(Protocol):
    """Sees each analysed frame's tracked faces (raw probabilities) with their tracks' smoothed labels: the
    service's case collection (maskwatch.cases.CaseCollector) when `collect:` is on."""

    def faces(
        self, camera: str, image: np.ndarray, at: float, tracked: Detections, labels: dict[int, str], zones: list[Zone]
    ) -> None: ...


class AnalysisOutput(Protocol):
    """Where an analyser's records go: the service's store and sinks, a Ray shard's queue for its head, or
    nowhere. alert() that raises is tried again on the next frame (the rules' cooldown is taken back)."""

    def alert(self, raised: RaisedAlert) -> None: ...

    def sightings(self, sightings: list[Sighting]) -> None: ...

    def clip_frame(self, camera: str, at: float, image: np.ndarray) -> None: ...


class NoOutput:
    def alert(self, raised: RaisedAlert) -> None:
        pass

    def sightings(self, sightings: list[Sighting]) -> None:
        pass

    def clip_frame(self, camera: str, at: float, image: np.ndarray) -> None:
        pass


def region_settings(detector: DetectorConfig) -> RegionSettings | None:
    """The region plan of detector.regions (None: off); the sweep's whole-frame pass at detector.input_size."""
    if not detector.regions:
        return None
    return RegionSettings(
        input_side=detector.region_input,
        face_input=detector.region_face_input,
        max_regions=detector.region_max,
        sweep_seconds=detector.region_sweep_seconds,
        whole_input=detector.input_size,
    )


class CameraAnalyser:
    """pipeline: what runs the models (needed by process(); analyse() takes faces found elsewhere); clips: render
    each frame for the alert clips (clip_frame() on the output)."""

    def __init__(
        self,
        camera: CameraConfig,
        config: AppConfig,
        pipeline: Pipeline | None = None,
        output: AnalysisOutput | None = None,
        clips: bool = False,
    ):
        d, t, r = config.detector, config.tracker, config.rules
        self.camera, self.name = camera, camera.name
        self.pipeline, self.output = pipeline, output or NoOutput()
        self.min_score, self.tz = d.min_score, r.tzinfo
        self.blur_method = config.privacy.blur_method
        self.clip_width = config.clips.width if clips else None
        self.clip_seconds = config.clips.max_seconds
        self._alerted: dict[int, float] = {}  # track id -> when it last alerted (clips mark it)
        self.finder = FaceFinder(
            min(d.min_score, config.privacy.blur_min_score),
            d.motion_threshold,
            d.redetect_seconds,
            region_settings(d),
            camera_phase(camera.name),
        )
        self.tracker = FaceTracker(camera.fps, t.lost_seconds, t.match_threshold, d.min_score)
        self.smoother = LabelSmoother(t.smoothing_frames, forget_seconds=max(10.0, t.lost_seconds * 2))
        zones = make_zones(camera.zones, r.tzinfo)
        self.rules = RuleEngine(camera.name, zones, r.alert_labels, r.min_seconds, r.min_confidence, r.cooldown_seconds)
        self.drawn_zones: list[Zone] = zones if camera.zones else []  # the implicit whole-frame zone is not drawn
        self.finder.set_zones(self.drawn_zones)
        self.cases: FaceHook | None = None  # set by the service where collect: is on
        self.frames_analysed = 0
        self.alerts_raised = 0  # handed to the output
        self._pruned_at = -float("inf")

    @property
    def frames_detected(self) -> int:
        return self.finder.frames_detected

    def set_zones(self, zones: list[ZoneConfig]) -> None:
        """Applied from the next frame on."""
        made = make_zones(zones, self.tz)
        self.rules.zones, self.drawn_zones = made, made if zones else []
        self.finder.set_zones(self.drawn_zones)

    def find_faces(self, frame: Frame) -> Detections:
        """The detection step: the frame's faces, classified (the last ones where nothing moved since)."""
        if self.pipeline is None:
            raise ValueError("this analyser has no pipeline: give analyse() the faces found")
        return self.finder.find(frame, self.pipeline)

    def process(self, frame: Frame) -> FrameResult:
        return self.analyse(frame, self.find_faces(frame))

    def analyse(self, frame: Frame, found: Detections) -> FrameResult:
        """Tracks, smooths and judges the faces found in `frame`; alerts, people counts and the clip frame go to
        the output."""
        image, at = frame.image, frame.time
        h, w = image.shape[:2]
        hidden = found.xyxy.copy()
        zones = self.rules.zones  # faces in ignored zones are hidden, and nothing else
        kept = np.array(
            [i for i in np.flatnonzero(found.det_scores >= self.min_score) if not ignored(found.xyxy[i], w, h, zones)],
            np.int64,
        )
        tracked = self.tracker.update(found[kept])
        faces, judged = self._smooth(tracked, at)
        alerts = self.rules.check(judged, w, h, at)
        sightings = self.rules.count(judged, w, h, at)
        if sightings:
            self.output.sightings(sightings)
        self.frames_analysed += 1
        if self.cases is not None and self.finder.detected:
            self.cases.faces(self.name, image, at, tracked, {tl.track_id: tl.label for _, tl, _ in judged}, zones)
        raised = [a for a in alerts if self._raise(self._raised(a, image, hidden, found, kept))]
        if self.clip_width is not None:
            marked = self._marked(judged, w, h, at, raised)
            picture = render.clip_frame(
                image, hidden, faces, self.drawn_zones, at, self.clip_width, self.blur_method, marked
            )
            self.output.clip_frame(self.name, at, picture)
        self._prune(at)
        return FrameResult(self.name, frame.seq, at, w, h, faces, hidden, raised, sightings, self.finder.detected)

    @staticmethod
    def _raised(
        alert: Alert, image: np.ndarray, hidden: np.ndarray, found: Detections, kept: np.ndarray
    ) -> RaisedAlert:
        offender = int(kept[alert.face_index])
        probs = found.class_probs[offender] if found.class_probs is not None else None
        return RaisedAlert(alert, image, hidden, offender, probs)

    def _smooth(self, tracked: Detections, at: float) -> tuple[Detections, list]:
        """The faces with each track's smoothed probabilities, and (index, track label, box) of the tracked ones."""
        shown = (
            tracked.class_probs.copy() if tracked.class_probs is not None else np.zeros((0, len(CLASSES)), np.float32)
        )
        judged = []
        assert tracked.track_ids is not None  # set by the tracker
        for i, tid in enumerate(tracked.track_ids):
            if tid < 0:
                continue
            assert tracked.class_probs is not None  # a tracked face has been classified
            label = self.smoother.update(int(tid), tracked.class_probs[i], at)
            shown[i] = label.mean_probs
            judged.append((i, label, tuple(tracked.xyxy[i])))
        return Detections(tracked.xyxy, tracked.det_scores, tracked.landmarks, shown, tracked.track_ids), judged

    def _marked(self, judged: list, w: int, h: int, at: float, raised: list[Alert]) -> set[int]:
        """The tracks a clip marks as offenders on this frame: those that alerted (for as long as a clip may run,
        while they still show an unmasked label) and those about to (an alerting label in a restricted zone, not
        held long enough yet)."""
        for alert in raised:
            self._alerted[alert.track_id] = at
        self._alerted = {t: when for t, when in self._alerted.items() if at - when <= self.clip_seconds}
        unmasked = {tl.track_id for _, tl, _ in judged if tl.label in UNMASKED}
        return (set(self._alerted) & unmasked) | self.rules.offending(judged, w, h, at)

    def _raise(self, raised: RaisedAlert) -> bool:
        try:
            self.output.alert(raised)
        except Exception:  # not kept: the person is not silenced by the cooldown, the next frame tries again
            self.rules.retract(raised.alert)
            log.exception("camera %s: an alert could not be kept", self.name)
            return False
        self.alerts_raised += 1
        return True

    def _prune(self, at: float) -> None:
        if at - self._pruned_at >= PRUNE_SECONDS:
            self._pruned_at = at
            self.smoother.prune(at)
