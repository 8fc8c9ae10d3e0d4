"""What face sizes a camera shows, and what the live detector setting makes of them (`maskwatch probe`).

The sizes are the long side of the face boxes that the multi-scale detector (`predict`'s, faces from about 10 px to
the whole frame) finds in frames spread over the probe's read. The live service's whole-frame pass brings the
frame's long side to `detector.input_size` (its regions, on frames larger than that, see smaller moving faces); a
face is seen by that pass when its size at that input is within the
limits measured by benchmarks/face_size_limits.py (real faces of the train split pasted at each size into frames of
the input size, found at score >= 0.5 and IoU >= 0.5 in at least 90 % of cases; see docs/live-service.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskwatch.core.detections import Detections

SMALLEST_SEEN_AT_INPUT = 48  # px at the detector's input: smaller faces are missed more often (measured, see above)
LARGEST_SEEN_AT_INPUT = 448  # px at the detector's input: larger faces outgrow its anchors (measured, see above)
SIZE_SAMPLES = 5  # frames of the read analysed for face sizes
REGION_UPSCALE = 3  # the live regions' largest upscaling (maskwatch.detect.regions), for faces under ~40 px
FACE_MIN_SCORE = 0.5  # as detector.min_score's default: the faces the service would track


@dataclass
class FaceSizes:
    """Face box long sides (px in the frame) over the sampled frames."""

    sizes: list[float]
    frames: int  # frames analysed

    @classmethod
    def of(cls, found: list[Detections]) -> FaceSizes:
        sizes = [
            float(max(x2 - x1, y2 - y1))
            for dets in found
            for (x1, y1, x2, y2), score in zip(dets.xyxy, dets.det_scores, strict=True)
            if score >= FACE_MIN_SCORE
        ]
        return cls(sorted(sizes), len(found))

    def summary(self) -> str:
        if not self.sizes:
            return f"face sizes: no face in {self.frames} frame(s) (all scales): point the camera at people to check"
        return (
            f"face sizes over {self.frames} frame(s) (all scales, {len(self.sizes)} faces): smallest "
            f"{self.sizes[0]:.0f} px, median {float(np.median(self.sizes)):.0f} px, largest {self.sizes[-1]:.0f} px"
        )

    def advice(self, width: int, height: int, input_size: int) -> str:
        """What detector.input_size `input_size` makes of these faces on a width x height frame."""
        if not self.sizes:
            return "settings: no advice without faces"
        long_side = max(width, height)
        scale = input_size / long_side
        low, high = SMALLEST_SEEN_AT_INPUT / scale, LARGEST_SEEN_AT_INPUT / scale
        smallest, largest = self.sizes[0], self.sizes[-1]
        where = f"what detector.input_size {input_size} sees reliably on a {width}x{height} frame"
        if smallest < low:
            return self._too_small(smallest, low, where, long_side, input_size)
        if largest > high:
            fitting = max(128, int(LARGEST_SEEN_AT_INPUT * long_side / largest) // 32 * 32)
            return (
                f"settings: faces up to {largest:.0f} px: above {where} (up to about {high:.0f} px; "
                f"{LARGEST_SEEN_AT_INPUT} px at its input); detector.input_size {fitting} keeps them within"
            )
        return f"settings: faces of {smallest:.0f}-{largest:.0f} px are within {where} ({low:.0f}-{high:.0f} px): fine"

    @staticmethod
    def _too_small(smallest: float, low: float, where: str, long_side: int, input_size: int) -> str:
        needed = input_size_for_face(smallest, long_side)
        fix = (
            f"detector.input_size {needed} would see them, at more CPU"
            if needed <= 2048
            else f"even detector.input_size 2048, the largest, sees them reliably only from about "
            f"{SMALLEST_SEEN_AT_INPUT * long_side / 2048:.0f} px here"
        )
        regions = (
            f"; with detector.regions on (the default) the service detects moving faces in squares at up to "
            f"{REGION_UPSCALE}x, which see them from about {SMALLEST_SEEN_AT_INPUT / REGION_UPSCALE:.0f} px, and faces "
            f"that stand still within detector.region_sweep_seconds"
            if long_side > input_size
            else ""
        )
        return (
            f"settings: faces from {smallest:.0f} px: below {where} (from about {low:.0f} px; "
            f"{SMALLEST_SEEN_AT_INPUT} px at its input); {fix}{regions}"
        )


def input_size_for_face(face: float, long_side: int) -> int:
    """The detector input (a multiple of 32) at which a face this large reaches SMALLEST_SEEN_AT_INPUT."""
    needed = SMALLEST_SEEN_AT_INPUT * long_side / face
    return int(-(-needed // 32) * 32)


class FrameSampler:
    """Frames spread evenly over a read of unknown length, at most `keep` of them held: when full, every other one
    is dropped and from then on every other frame is taken."""

    def __init__(self, keep: int = 2 * SIZE_SAMPLES):
        self.keep, self.stride, self.seen = keep, 1, 0
        self.frames: list[np.ndarray] = []
        self.last: np.ndarray | None = None

    def add(self, image: np.ndarray) -> None:
        self.last = image
        if self.seen % self.stride == 0:
            self.frames.append(image)
            if len(self.frames) > self.keep:
                self.frames, self.stride = self.frames[::2], self.stride * 2
        self.seen += 1

    def picked(self, samples: int = SIZE_SAMPLES) -> list[np.ndarray]:
        """`samples` frames from the first to the last one read."""
        frames = self.frames
        if self.last is not None and frames and frames[-1] is not self.last:
            frames = [*frames, self.last]
        return [frames[i] for i in sample_indices(len(frames), samples)]


def sample_indices(count: int, samples: int = SIZE_SAMPLES) -> list[int]:
    """Up to `samples` indices spread evenly over `count` frames, the last one included."""
    if count <= samples:
        return list(range(count))
    return sorted({round(i * (count - 1) / (samples - 1)) for i in range(samples)})
