"""Library functions behind `maskwatch predict`, `classify` and `detect`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from maskwatch.classify.given import GivenCropClassifier
from maskwatch.core.draw import draw_detections
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.core.media import check_pixels, collect_images, is_video, read_image, unique_names
from maskwatch.pipeline import MaskPipeline

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    results: dict = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _over_images(inputs, fn) -> BatchResult:
    images = collect_images(inputs)
    out = BatchResult(skipped=list(images.skipped))
    names = unique_names(images.paths)
    for path in images.paths:
        try:
            out.results[names[path]] = fn(read_image(path))
        except UserError as err:
            out.skipped.append(str(err))
    return out


def prediction_entries(dets, min_score: float) -> list[dict]:
    """Detections as the entries of `maskwatch predict`'s JSON: [{box, label, score}], score >= min_score."""
    dets = dets[dets.scores >= min_score]
    return [
        {"box": [round(float(v), 1) for v in box], "label": label, "score": round(float(score), 4)}
        for box, label, score in zip(dets.xyxy, dets.labels, dets.scores)
    ]


def predict_images(inputs, pipeline: MaskPipeline, min_score: float = 0.05) -> BatchResult:
    """{file name: [{box, label, score}]} for every readable image; faces as the pipeline's detector keeps them,
    entries down to min_score."""
    return _over_images(inputs, lambda image: prediction_entries(pipeline.analyze(image), min_score))


def classify_crops(inputs, classifier: GivenCropClassifier) -> BatchResult:
    """{file name: {label, scores}} for face crops as their maker cut them."""

    def one(image):
        probs = classifier.predict([image])[0]
        return {
            "label": CLASSES[int(np.argmax(probs))],
            "scores": {c: round(float(p), 4) for c, p in zip(CLASSES, probs)},
        }

    return _over_images(inputs, one)


def detect_file(src: Path, dst: Path, pipeline: MaskPipeline) -> dict:
    """Draw classified faces onto an image or every frame of a video; returns a summary."""
    if not src.exists():
        raise UserError(f"{src}: no such file or directory")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not is_video(src):
        dets = pipeline.analyze(read_image(src))
        if not cv2.imwrite(str(dst), draw_detections(read_image(src), dets, copy=False)):
            raise UserError(f"{dst}: cannot write an image with this extension")
        return {"frames": 1, "faces": len(dets), "labels": _count(dets.labels)}
    cap = cv2.VideoCapture(str(src))
    check_pixels(src, (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))))
    ok, frame = cap.read()
    if not ok:
        raise UserError(f"{src}: cannot be read as a video (corrupt or unsupported)")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
    if not writer.isOpened():
        raise UserError(f"{dst}: cannot write a video there (use .mp4 or .avi)")
    frames, faces, labels = 0, 0, []
    while ok:
        dets = pipeline.analyze(frame)
        writer.write(draw_detections(frame, dets, copy=False))
        frames, faces = frames + 1, faces + len(dets)
        labels += dets.labels
        ok, frame = cap.read()
    writer.release()
    cap.release()
    return {"frames": frames, "faces": faces, "labels": _count(labels)}


def _count(labels: list[str]) -> dict[str, int]:
    return {c: labels.count(c) for c in CLASSES}
