"""Detector + classifier: an image in, classified faces out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskwatch.classify import MaskClassifier
from maskwatch.classify.classifier import light_model
from maskwatch.core.detections import Detections
from maskwatch.core.paths import MODELS_DIR
from maskwatch.detect import BoxCalibration, FaceDetector, MultiScaleDetector, RetinaFaceDetector
from maskwatch.detect.models import resolve_detector
from maskwatch.detect.region_detect import detect_planned
from maskwatch.detect.regions import Region

OPERATING_POINT = MODELS_DIR / "operating_point.json"


@dataclass(frozen=True)
class Mode:
    input_size: int | None  # detector input: the image's long side is scaled to this; None: scales chosen per image
    face_min_score: float  # faces below this are neither classified nor reported
    light: bool = False  # classify with the shipped classifier's light stand-in (classify.light_model)

    def classifier(self, given: Path | None) -> Path | None:
        """The classifier file this mode runs: the one given, else the shipped one (None) or its light stand-in."""
        if given is not None or not self.light:
            return given
        return light_model()


# accurate: the default for photos and video files, every face size (maskwatch.detect.scales). fast: one pass at
# 320 px; there a low face threshold yields ~50 candidates per street photo and classifying them costs more than
# detecting, hence 0.4 (chosen by benchmarks/peers.py --sweep), and the light classifier.
MODES = {"accurate": Mode(None, 0.05), "fast": Mode(320, 0.4, light=True)}


def load_unmasked_bias(path: Path = OPERATING_POINT) -> float:
    """Log-odds added to no_mask and incorrect before the label is chosen (see models/operating_point.json)."""
    return float(json.loads(path.read_text())["unmasked_bias"]) if path.is_file() else 0.0


def apply_bias(probs: np.ndarray, unmasked_bias: float) -> np.ndarray:
    """Shift probability mass toward the unmasked classes: a missed unmasked face costs more than a false flag."""
    if unmasked_bias == 0 or len(probs) == 0:
        return probs
    shifted = probs * np.exp(np.array([0.0, unmasked_bias, unmasked_bias], np.float32))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass
class MaskPipeline:
    detector: FaceDetector
    classifier: MaskClassifier
    calibration: BoxCalibration = field(default_factory=BoxCalibration.load)
    unmasked_bias: float = field(default_factory=load_unmasked_bias)

    @classmethod
    def from_defaults(
        cls,
        input_size: int | None = None,
        min_score: float = 0.5,
        providers: str = "cpu",
        threads: int | None = None,
        classifier_path: Path | None = None,
        detector: str | None = None,
    ) -> MaskPipeline:
        """The shipped models. input_size None: the detector's scales and tiles are chosen from each image (faces from
        about 10 px to the whole frame); a number: one pass with the long side brought to it (the live service).
        detector: a shipped detector's name or an ONNX path (maskwatch.detect.models; None: the default)."""
        model = resolve_detector(detector)
        face_detector = RetinaFaceDetector(
            model.path, input_size=input_size or 1024, min_score=min_score, providers=providers, threads=threads
        )
        classifier = MaskClassifier(classifier_path, providers, threads)
        scaled = face_detector if input_size else MultiScaleDetector(face_detector)
        return cls(scaled, classifier, BoxCalibration.load(model.calibration))

    def analyze(self, image: np.ndarray, min_score: float | None = None) -> Detections:
        return self.analyze_batch([image], min_score)[0]

    def analyze_batch(self, images: list[np.ndarray], min_score: float | None = None) -> list[Detections]:
        """Detect (frames of one size in one detector run), then classify every face of every image in one
        classifier call.

        Crops come from the raw detector boxes (as in training); the boxes returned are calibrated
        to the annotation convention (see maskwatch.detect.calibration), raw ones kept in data["raw_xyxy"].
        Class probabilities carry the operating point's unmasked bias.
        """
        return self.classify(images, self.detector.detect_batch(images, min_score))

    def analyze_regions(
        self, frames: list[tuple[np.ndarray, list[Region]]], min_score: float | None = None
    ) -> list[Detections]:
        """As analyze_batch, the detector run on planned regions of each frame (maskwatch.detect.regions; the
        regions of all frames batched by input shape) instead of the whole frame; faces in frame pixels."""
        if not isinstance(self.detector, RetinaFaceDetector):
            raise TypeError("regions need a RetinaFaceDetector (a fixed detector.input_size)")
        dets = detect_planned(self.detector, frames, min_score)
        return self.classify([image for image, _ in frames], dets)

    def classify(self, images: list[np.ndarray], dets: list[Detections]) -> list[Detections]:
        """Every face of every image classified in one classifier call; boxes calibrated (see analyze_batch)."""
        classifier = self.classifier  # once: a promoted model may be swapped in meanwhile (service.models)
        crops = [classifier.crops(im, d.xyxy) for im, d in zip(images, dets, strict=True)]
        probs = (
            apply_bias(classifier.predict(np.concatenate(crops)), self.unmasked_bias)
            if sum(len(c) for c in crops)
            else None
        )
        start = 0
        for d, image in zip(dets, images, strict=True):
            d.class_probs = probs[start : start + len(d)] if probs is not None else np.zeros((0, 3), np.float32)
            start += len(d)
            d.data["raw_xyxy"] = d.xyxy
            d.xyxy = self.calibration.apply(d.xyxy, image.shape) if len(d) else d.xyxy
        return dets
