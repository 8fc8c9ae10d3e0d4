"""The analyser's detection step: a frame in, the faces found in it out.

It is split in two so that the frames of several cameras share one detector call: `plan` says what the detector is
to run on (nothing for a frame that has not moved since the last detection: its last faces hold; otherwise the
whole frame), `merge` turns the detector's results for those images back into the faces of the frame. Detection in
regions (crops around motion and tracked faces) fits the same two steps: more images in the plan, their faces
mapped back to the frame and merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskwatch.analysis.motion import MotionGate, thumbnail
from maskwatch.backends import Pipeline
from maskwatch.core.detections import Detections


@dataclass
class DetectionPlan:
    time: float  # the frame's time
    images: list[np.ndarray] = field(default_factory=list)  # for the detector; none: the last faces hold
    thumb: np.ndarray | None = None  # the frame's motion thumbnail (motion gating on)


class FaceFinder:
    """min_score: the lowest face score kept (faces down to it are hidden, see privacy.blur_min_score);
    motion_threshold, redetect_seconds: see detector.motion_threshold (0: detect every frame)."""

    def __init__(self, min_score: float, motion_threshold: float = 0.0, redetect_seconds: float = 1.0):
        self.min_score = min_score
        self.gate = MotionGate(motion_threshold, redetect_seconds) if motion_threshold > 0 else None
        self.last: Detections | None = None  # the last detector result, kept for still frames
        self.frames_detected = 0  # frames the detector ran on
        self.detected = False  # whether it ran on the last frame

    def plan(self, image: np.ndarray, at: float) -> DetectionPlan:
        if self.gate is None:
            return DetectionPlan(at, [image])
        thumb = thumbnail(image)
        if self.last is not None and self.gate.still(thumb, at):
            return DetectionPlan(at, [], thumb)
        return DetectionPlan(at, [image], thumb)

    def merge(self, plan: DetectionPlan, found: list[Detections]) -> Detections:
        """The frame's faces from the detector's results for plan.images (in that order)."""
        self.detected = bool(plan.images)
        if not plan.images:
            assert self.last is not None
            return self.last
        (faces,) = found
        self.last = faces
        self.frames_detected += 1
        if self.gate is not None and plan.thumb is not None:
            self.gate.detected(plan.thumb, plan.time)
        return faces

    def find(self, image: np.ndarray, at: float, pipeline: Pipeline) -> Detections:
        """The faces in one frame (`at`: its time, video or wall clock)."""
        return find_faces([(self, image, at)], pipeline)[0]


def find_faces(frames: list[tuple[FaceFinder, np.ndarray, float]], pipeline: Pipeline) -> list[Detections]:
    """The faces in each (finder, frame, time), with one pipeline call for all of them (their finders share the
    detector settings)."""
    plans = [finder.plan(image, at) for finder, image, at in frames]
    images = [image for plan in plans for image in plan.images]
    found = pipeline.analyze_batch(images, min_score=frames[0][0].min_score) if images else []
    out, start = [], 0
    for (finder, _, _), plan in zip(frames, plans, strict=True):
        out.append(finder.merge(plan, found[start : start + len(plan.images)]))
        start += len(plan.images)
    return out
