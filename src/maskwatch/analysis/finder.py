"""The analyser's detection step: a frame in, the faces found in it out.

It is split in two so that the frames of several cameras share one detector call: `plan` says what the detector is
to run on, `merge` turns the detector's results back into the faces of the frame. Two ways:

- regions (detector.regions, the default; maskwatch.detect.regions): squares around motion and around the faces
  found last, and a sweep over the whole frame a few squares at a time; the regions of all cameras are detected in
  one batch (MaskPipeline.analyze_regions). Faces of the last frame that no region of this one looked at are kept
  as they were (they stood still, or waited for a place in the region budget). A doubtful face (PROBE_SCORE up to
  min_score) found where its region showed it too small to judge, as a 1x sweep square shows a 12-px face, gets a
  face's region on the next frame, enlarged, and counts only if found there;
- the whole frame at detector.input_size, skipped where it has not moved since the last detection (motion gating:
  its last faces hold). Frames no larger than input_size (already at their own resolution or above there) and
  backends without analyze_regions always work this way.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from maskwatch.analysis.motion import MotionGate, thumbnail
from maskwatch.backends import Pipeline
from maskwatch.core.detections import Detections
from maskwatch.detect.regions import SEEN_AT_INPUT, Region, RegionPlanner, RegionSettings
from maskwatch.detect.tiling import CONTAINED, MERGE_IOU
from maskwatch.sources import Frame

# a face scored this much or more where a region saw it too small to judge is looked at closer on the next frame, in
# a face's region: of the 10-23 px faces of the wide val frames that 1x sweep squares miss at 0.5, they score over
# half at 0.1-0.5
PROBE_SCORE = 0.1


@dataclass
class DetectionPlan:
    time: float  # the frame's time
    images: list[np.ndarray] = field(default_factory=list)  # for the detector; none: the last faces hold
    thumb: np.ndarray | None = None  # the frame's motion thumbnail (motion gating on)
    regions: list[Region] | None = None  # detect in these regions of `image` instead (None: not planned so)
    image: np.ndarray | None = None  # the frame (regions)


def camera_phase(name: str) -> float:
    """0..1 from a camera's name: where its sweep starts, so that cameras do not sweep together."""
    return zlib.crc32(name.encode()) / 2**32


def looked_at(faces: Detections, regions: list[Region]) -> np.ndarray:
    """Mask of the faces that lie whole in a region that sees them at a size the detector finds (a face its
    region cuts is not reported from there: see maskwatch.detect.region_detect)."""
    if len(faces) == 0:
        return np.zeros(0, bool)
    b = faces.xyxy
    size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    seen = np.zeros(len(faces), bool)
    for r in regions:
        x1, y1, x2, y2 = r.box
        whole = (b[:, 0] >= x1) & (b[:, 1] >= y1) & (b[:, 2] <= x2) & (b[:, 3] <= y2)
        seen |= whole & (size * r.scale >= SEEN_AT_INPUT)
    return seen


def overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of each box of a inside each box of b, IoU): two (len(a), len(b)) matrices."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    tl, br = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a, area_b = (np.prod(np.clip(x[:, 2:] - x[:, :2], 0, None), axis=1) for x in (a, b))
    union = area_a[:, None] + area_b[None, :] - inter
    return inter / np.maximum(area_a[:, None], 1e-9), inter / np.maximum(union, 1e-9)


def with_kept(found: Detections, kept: Detections) -> Detections:
    """The faces found and those kept from the last frame: a found face lying mostly inside a kept one is a part
    of it (seen cut in a region), a kept face overlapping a found one is that face found again."""
    if len(found) == 0 or len(kept) == 0:
        return join(found, kept)
    inside, iou = overlaps(found.xyxy, kept.xyxy)
    part = np.any(inside >= CONTAINED, axis=1)
    again = (iou > MERGE_IOU)[~part].any(axis=0) if (~part).any() else np.zeros(len(kept), bool)
    return join(found[~part], kept[~again])


def join(a: Detections, b: Detections) -> Detections:
    """The faces of both (classified ones), boxes, scores, landmarks and probabilities."""
    if len(a) == 0 or len(b) == 0:
        return b if len(a) == 0 else a

    def probs(d: Detections) -> np.ndarray:
        return d.class_probs if d.class_probs is not None else np.zeros((len(d), 3), np.float32)

    landmarks = (
        np.concatenate([a.landmarks, b.landmarks]) if a.landmarks is not None and b.landmarks is not None else None
    )
    return Detections(
        np.concatenate([a.xyxy, b.xyxy]),
        np.concatenate([a.det_scores, b.det_scores]),
        landmarks,
        np.concatenate([probs(a), probs(b)]),
    )


class FaceFinder:
    """min_score: the lowest face score kept (faces down to it are hidden, see privacy.blur_min_score);
    motion_threshold, redetect_seconds: see detector.motion_threshold (0: detect every frame); regions: detect in
    regions with these settings (None: the whole frame); phase: where the region sweep starts (see camera_phase)."""

    def __init__(
        self,
        min_score: float,
        motion_threshold: float = 0.0,
        redetect_seconds: float = 1.0,
        regions: RegionSettings | None = None,
        phase: float = 0.0,
    ):
        self.min_score = min_score
        self.gate = MotionGate(motion_threshold, redetect_seconds) if motion_threshold > 0 else None
        self.planner = RegionPlanner(regions, phase) if regions is not None else None
        self.redetect_seconds = redetect_seconds
        self.refreshed_at = -float("inf")  # when every face found last was last given its region
        self.last: Detections | None = None  # the last detector result, kept for still frames
        self.probes = np.zeros((0, 4), np.float32)  # boxes to look at closer on the next frame (see PROBE_SCORE)
        self.opening: int | None = None  # the source opening (Frame.opening) of the frames planned last
        self.frames_detected = 0  # frames the detector ran on
        self.detected = False  # whether it ran on the last frame
        self.regions_detected = 0  # regions the detector ran on

    def set_zones(self, zones: list) -> None:
        """The camera's zones (maskwatch.rules.Zone): regions leave out what lies outside them or in ignored ones."""
        if self.planner is not None:
            self.planner.set_zones(zones)

    def restart(self) -> None:
        """Forget the faces and plans of before: the next frame is looked at as a camera's first."""
        self.last, self.refreshed_at = None, -float("inf")
        self.probes = np.zeros((0, 4), np.float32)
        if self.planner is not None:
            self.planner.restart()

    def plan(self, frame: Frame, regions: bool = True) -> DetectionPlan:
        """regions: False where the pipeline cannot detect regions (then the whole frame, as without them).
        A frame from a new opening of the source (a reconnect) starts the camera afresh (restart)."""
        if frame.opening != self.opening:
            if self.opening is not None:
                self.restart()
            self.opening = frame.opening
        image, at = frame.image, frame.time
        if self.planner is not None and regions and max(image.shape[:2]) > self.planner.settings.whole_input:
            return self._plan_regions(frame)  # a frame no larger than the whole pass's input: that pass serves
        if self.gate is None:
            return DetectionPlan(at, [image])
        thumb = thumbnail(image)
        if self.last is not None and self.gate.still(thumb, at):
            return DetectionPlan(at, [], thumb)
        return DetectionPlan(at, [image], thumb)

    def _plan_regions(self, frame: Frame) -> DetectionPlan:
        assert self.planner is not None
        image, at = frame.image, frame.time
        last = self.last.xyxy if self.last is not None else np.zeros((0, 4), np.float32)
        refresh = at - self.refreshed_at >= self.redetect_seconds
        if refresh:
            self.refreshed_at = at
        thumb = frame.thumbs.get(self.planner.settings.thumb_factor)
        regions = self.planner.plan(image, at, last, refresh, thumb, self.probes)
        if self.last is None and not any(r.kind == "whole" for r in regions):  # the first frame: the whole of it too
            h, w = image.shape[:2]
            settings = self.planner.settings
            regions.append(Region((0, 0, w, h), settings.whole_input / max(h, w) or 1.0, "whole"))
        return DetectionPlan(at, regions=regions, image=image)

    def merge(self, plan: DetectionPlan, found: list[Detections]) -> Detections:
        """The frame's faces from the detector's results for plan.images (in that order), or for plan.regions
        (one result)."""
        if plan.regions is not None:
            return self._merge_regions(plan, found)
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

    def _merge_regions(self, plan: DetectionPlan, found: list[Detections]) -> Detections:
        assert plan.regions is not None
        self.detected = bool(plan.regions)
        if not plan.regions:
            return self.last if self.last is not None else Detections.empty()
        (faces,) = found
        doubtful = faces.det_scores < self.min_score
        probes, faces = faces[doubtful], faces[~doubtful]
        if self.last is not None:
            faces = with_kept(faces, self.last[~looked_at(self.last, plan.regions)])
        self.probes = self._probes(probes, plan.regions, faces)
        self.last = faces
        self.frames_detected += 1
        self.regions_detected += len(plan.regions)
        return faces

    def _probes(self, doubtful: Detections, regions: list[Region], faces: Detections) -> np.ndarray:
        """Boxes of the doubtful faces that no region saw at a size the detector judges, that a face region can,
        and that are no part of a face kept (with_kept): faces too small where they were found, to be looked at
        closer."""
        assert self.planner is not None
        b = doubtful.xyxy
        size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        closer = size * self.planner.settings.face_scale_max >= SEEN_AT_INPUT
        if len(faces):
            closer &= ~(overlaps(b, faces.xyxy)[0] >= CONTAINED).any(axis=1)
        return b[closer & ~looked_at(doubtful, regions)]

    def find(self, frame: Frame, pipeline: Pipeline) -> Detections:
        """The faces in one frame (frame.time: video or wall clock)."""
        return find_faces([(self, frame)], pipeline)[0]


def find_faces(frames: list[tuple[FaceFinder, Frame]], pipeline: Pipeline) -> list[Detections]:
    """The faces in each (finder, frame), with one pipeline call for all of them (their finders share the
    detector settings): one for the frames planned as regions, one for the whole frames."""
    analyze_regions = getattr(pipeline, "analyze_regions", None)
    plans = [finder.plan(frame, regions=analyze_regions is not None) for finder, frame in frames]
    min_score = frames[0][0].min_score
    images = [image for plan in plans for image in plan.images]
    found = pipeline.analyze_batch(images, min_score=min_score) if images else []
    planned = [(plan.image, plan.regions) for plan in plans if plan.regions and plan.image is not None]
    probe_score = min(min_score, PROBE_SCORE)  # merge() keeps only the faces of min_score and the probes
    in_regions = iter(analyze_regions(planned, min_score=probe_score) if planned and analyze_regions else [])
    out, start = [], 0
    for (finder, _), plan in zip(frames, plans, strict=True):
        if plan.regions is not None:
            out.append(finder.merge(plan, [next(in_regions)] if plan.regions else []))
            continue
        out.append(finder.merge(plan, found[start : start + len(plan.images)]))
        start += len(plan.images)
    return out
