"""Face crops handed in as they are (`maskwatch classify`, `maskwatch evaluate boxes|folders`), framed however their
maker cut them: tight at a box, with a margin, or a whole portrait.

Each crop is scored twice and the probabilities averaged: as it is, squared by replicating its edges (which the
hand-cut framing in training prepares the model for), and re-cut around the face the detector finds in it, the
way the class-folder training crops were cut. On our val split the average scored 93.6 / 95.0 % on real faces
cut at their box / with a 0.2 margin and 99.0 / 99.5 % on the class-folder images, against 94.4 / 94.2 % and
95.3 / 98.7 % for the crop as it is (models/MODEL_CARD.md, Crops cut by hand).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskwatch.classify.classifier import MaskClassifier
from maskwatch.classify.crop import face_crop, square_pad
from maskwatch.detect.single_face import attempt_detectors, most_confident_face


class GivenCropClassifier:
    def __init__(self, classifier: MaskClassifier, find_face: bool = True, threads: int | None = None):
        self.classifier = classifier
        self.attempts = attempt_detectors(threads) if find_face else None

    @classmethod
    def from_model(cls, model_path: Path | None = None, find_face: bool = True) -> GivenCropClassifier:
        """Over the classifier at model_path (the shipped model when None)."""
        return cls(MaskClassifier(model_path), find_face)

    def predict(self, crops: list[np.ndarray]) -> np.ndarray:
        """(N, 3) probabilities for BGR uint8 crops of any shape."""
        probs = self.classifier.predict([square_pad(c) for c in crops])
        if self.attempts is None:
            return probs
        rows, recuts = [], []
        for i, crop in enumerate(crops):
            found = most_confident_face(crop, self.attempts)
            if found is not None:
                rows.append(i)
                recuts.append(face_crop(crop, found[0]))
        if rows:
            probs[rows] = (probs[rows] + self.classifier.predict(recuts)) / 2
        return probs
