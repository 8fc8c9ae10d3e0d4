"""Probing a camera before it goes into the config: does it open, what it delivers, and are its faces big enough."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.core.errors import UserError
from maskwatch.detect.retinaface import MIN_SIZES, RetinaFaceDetector
from maskwatch.sources.face_sizes import FaceSizes, FrameSampler
from maskwatch.sources.reader import describe, open_capture

if TYPE_CHECKING:
    from maskwatch.pipeline import MaskPipeline

SMALLEST_ANCHOR = MIN_SIZES[0][0]  # px at the detector's input scale: smaller faces are often missed
WHY_NOT_OPEN = {
    "file": "not a video or image this machine can decode",
    "webcam": "no such device here, or another program holds it",
    "rtsp": "check the address, the password and that the camera is reachable from here",
}


@dataclass
class ProbeReport:
    source: str  # without a password
    kind: str
    open_seconds: float
    width: int
    height: int
    stated_fps: float  # what the stream or file says; 0 when it says nothing
    frames: int
    read_seconds: float
    steady_fps: float  # frames a second over the second half of the read, past any start-up burst
    input_size: int
    last_frame: np.ndarray
    faces: Detections  # in the last frame
    face_sizes: FaceSizes | None = None  # over frames spread across the read, by the multi-scale detector

    @property
    def labels(self) -> dict[str, int]:
        return dict(Counter(self.faces.labels))

    @property
    def face_heights(self) -> list[float]:
        return [float(y2 - y1) for _, y1, _, y2 in self.faces.xyxy]

    @property
    def scale(self) -> float:
        return self.input_size / max(self.width, self.height)

    def lines(self) -> list[str]:
        stated = f"the {self.kind} says {self.stated_fps:.1f} fps" if self.stated_fps > 0 else "no frame rate stated"
        frames = f"{self.frames} frame{'s' * (self.frames != 1)} in {self.read_seconds:.1f} s"
        if self.kind == "file":  # a file is read as fast as it decodes: that is what this tells
            rate = f"decoded {frames}: this machine decodes it at {self.frames / max(self.read_seconds, 1e-6):.0f} fps"
        else:
            rate = f"read {frames}: {self.steady_fps:.1f} fps delivered"
        out = [
            f"source: {self.source} ({self.kind})",
            f"opened in {self.open_seconds:.2f} s: {self.width}x{self.height}, {stated}",
            rate,
        ]
        faces = sum(self.labels.values())
        found = f"faces in the last frame (detector at {self.input_size} px): {faces}"
        if faces:
            smallest = min(self.face_heights)
            found += (
                f" ({', '.join(f'{k} {v}' for k, v in sorted(self.labels.items()))}); the smallest is "
                f"{smallest:.0f} px high in the frame, {smallest * self.scale:.1f} px at the detector's scale"
            )
        out.append(found)
        if self.face_sizes is not None:
            return [*out, self.face_sizes.summary(), self.face_sizes.advice(self.width, self.height, self.input_size)]
        if faces and min(self.face_heights) * self.scale < SMALLEST_ANCHOR:
            out.append(
                f"hint: faces under {SMALLEST_ANCHOR} px at the detector's scale are often missed; "
                f"detector.input_size: {self.input_size_for(min(self.face_heights))} would bring this one to "
                f"{SMALLEST_ANCHOR} px, at more CPU"
            )
        return out

    def input_size_for(self, face_height: float) -> int:
        """The detector input (a multiple of 32, at most 2048) at which a face this high reaches the smallest anchor."""
        needed = SMALLEST_ANCHOR * max(self.width, self.height) / face_height
        return int(min(2048, -(-needed // 32) * 32))


def probe_source(
    source: str | int,
    kind: str,
    pipeline: MaskPipeline,
    seconds: float = 3.0,
    timeout_ms: int = 5000,
    size_pipeline: MaskPipeline | None = None,
) -> ProbeReport:
    """Opens `source`, reads it for `seconds` (a file: up to that many seconds of its frames), and analyses the last
    frame; with `size_pipeline` (the multi-scale one), also the face sizes in frames spread over the read."""
    started = time.monotonic()
    cap = open_capture(source, kind, timeout_ms)
    try:
        if not cap.isOpened():
            raise UserError(f"cannot open {describe(source)} ({kind}): {WHY_NOT_OPEN.get(kind, WHY_NOT_OPEN['rtsp'])}")
        opened = time.monotonic() - started
        stated = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        limit = int(seconds * stated) if kind == "file" and stated > 0 else None
        arrivals: list[float] = []
        last, t0, sampler = None, time.monotonic(), FrameSampler()
        while time.monotonic() - t0 < seconds and (limit is None or len(arrivals) < limit):
            ok, image = cap.read()
            if not ok:
                break
            arrivals.append(time.monotonic() - t0)
            last = image
            sampler.add(image)
        read = time.monotonic() - t0
    finally:
        cap.release()
    if last is None:
        raise UserError(f"{describe(source)} opened but delivered no frame")
    late = [t for t in arrivals if t >= read / 2]
    steady = (len(late) - 1) / (late[-1] - late[0]) if len(late) > 1 and late[-1] > late[0] else 0.0
    detector = pipeline.detector
    assert isinstance(detector, RetinaFaceDetector)  # the report's advice is in RetinaFace input sizes
    return ProbeReport(
        describe(source),
        kind,
        opened,
        last.shape[1],
        last.shape[0],
        stated,
        len(arrivals),
        read,
        steady,
        detector.input_size,
        last,
        pipeline.analyze(last),
        FaceSizes.of([size_pipeline.analyze(f) for f in sampler.picked()]) if size_pipeline is not None else None,
    )
