"""Typed containers for what moves between stages (source → detect → classify → track → rules)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

from maskwatch.core.labels import CLASSES

# One face box (x1, y1, x2, y2) in pixels: a row of Detections.xyxy, or plain numbers.
BoxLike: TypeAlias = np.ndarray | Sequence[float]


@dataclass
class Detections:
    """Faces found in one image, in pixel coordinates of that image.

    xyxy: (N, 4) float32 boxes; det_scores: (N,) face confidence; landmarks: (N, 5, 2) or None;
    class_probs: (N, 3) probabilities over CLASSES once classified; track_ids: (N,) int once tracked
    (-1 where untracked).
    """

    xyxy: np.ndarray
    det_scores: np.ndarray
    landmarks: np.ndarray | None = None
    class_probs: np.ndarray | None = None
    track_ids: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: int | slice | np.ndarray | list[int]) -> Detections:
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return Detections(
            xyxy=self.xyxy[index],
            det_scores=self.det_scores[index],
            landmarks=pick(self.landmarks),
            class_probs=pick(self.class_probs),
            track_ids=pick(self.track_ids),
            data={k: v[index] for k, v in self.data.items()},
        )

    def scaled(self, sx: float, sy: float) -> Detections:
        """The same faces in an image resized by (sx, sy)."""
        lm = None if self.landmarks is None else self.landmarks * np.array([sx, sy], np.float32)
        return Detections(
            self.xyxy * np.array([sx, sy, sx, sy], np.float32),
            self.det_scores,
            lm,
            self.class_probs,
            self.track_ids,
            dict(self.data),
        )

    @property
    def class_ids(self) -> np.ndarray:
        if self.class_probs is None:
            raise ValueError("detections are not classified yet")
        return self.class_probs.argmax(axis=1)

    @property
    def labels(self) -> list[str]:
        return [CLASSES[i] for i in self.class_ids]

    @property
    def scores(self) -> np.ndarray:
        """Face confidence times the probability of the label's compliance group: p(mask) for `mask`,
        p(no_mask) + p(incorrect) for the two unmasked labels. A face that is surely unmasked but torn between
        no_mask and incorrect is a sure alert, so it keeps a high score."""
        if self.class_probs is None:
            return self.det_scores
        p = self.class_probs
        return self.det_scores * np.where(self.class_ids == CLASSES.index("mask"), p[:, 0], p[:, 1] + p[:, 2])


@dataclass
class TrackLabel:
    """A tracked face's label, smoothed over its last frames (track → rules)."""

    track_id: int
    label: str
    confidence: float  # mean probability of the label over the smoothing window
    stable_seconds: float  # how long the smoothed label has held
    first_seen: float
    last_seen: float
    mean_probs: np.ndarray
