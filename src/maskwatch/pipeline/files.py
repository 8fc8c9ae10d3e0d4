"""Library functions behind `maskwatch predict`, `classify` and `detect`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from maskwatch.classify.given import GivenCropClassifier
from maskwatch.core.detections import Detections
from maskwatch.core.draw import draw_detections
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.core.media import check_pixels, collect_images, is_video, read_image, unique_names
from maskwatch.pipeline import MaskPipeline
from maskwatch.pipeline.report import check_detect_paths, stderr

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    results: dict = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _over_images(inputs: Sequence[str | Path], fn: Callable[[np.ndarray], object]) -> BatchResult:
    images = collect_images(inputs)
    for raw in inputs:  # a folder that gave nothing
        if Path(raw).is_dir() and not any(Path(raw) in p.parents for p in images.paths):
            images.skipped.append(f"no images in {raw}")
    out = BatchResult(skipped=list(images.skipped))
    names = unique_names(images.paths)
    for path in images.paths:
        try:
            out.results[names[path]] = fn(read_image(path))
        except UserError as err:
            out.skipped.append(str(err))
    return out


def prediction_entries(dets: Detections, min_score: float) -> list[dict]:
    """Detections as the entries of `maskwatch predict`'s JSON: [{box, label, score}], score >= min_score."""
    dets = dets[dets.scores >= min_score]
    return [
        {"box": [round(float(v), 1) for v in box], "label": label, "score": round(float(score), 4)}
        for box, label, score in zip(dets.xyxy, dets.labels, dets.scores, strict=True)
    ]


def predict_images(inputs: Sequence[str | Path], pipeline: MaskPipeline, min_score: float = 0.05) -> BatchResult:
    """{file name: [{box, label, score}]} for every readable image; faces as the pipeline's detector keeps them,
    entries down to min_score."""
    return _over_images(inputs, lambda image: prediction_entries(pipeline.analyze(image), min_score))


def classify_crops(inputs: Sequence[str | Path], classifier: GivenCropClassifier) -> BatchResult:
    """{file name: {label, scores}} for face crops as their maker cut them."""

    def one(image: np.ndarray) -> dict[str, object]:
        probs = classifier.predict([image])[0]
        return {
            "label": CLASSES[int(np.argmax(probs))],
            "scores": {c: round(float(p), 4) for c, p in zip(CLASSES, probs, strict=True)},
        }

    return _over_images(inputs, one)


def detect_file(src: Path, dst: Path, pipeline: MaskPipeline, min_score: float = 0.0) -> dict:
    """Draw classified faces of score >= min_score (as predict's) onto an image or every frame of a video, with a
    progress bar on stderr for videos; returns a summary."""
    check_detect_paths(src, dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not is_video(src):
        image = read_image(src)
        dets = pipeline.analyze(image)
        dets = dets[dets.scores >= min_score]
        if not cv2.imwrite(str(dst), draw_detections(image, dets, copy=False)):
            raise UserError(f"{dst}: cannot write an image there")
        return {"frames": 1, "faces": len(dets), "labels": _count(dets.labels)}
    cap = cv2.VideoCapture(str(src))
    check_pixels(src, (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))))
    ok, frame = cap.read()
    if not ok:
        raise UserError(f"{src}: cannot be read as a video (corrupt or unsupported)")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter.fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
    if not writer.isOpened():
        raise UserError(f"{dst}: cannot write a video there (use .mp4 or .avi)")
    frames, faces, labels = 0, 0, []
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=stderr) as progress:
        task = progress.add_task(f"detect {src.name}", total=total)
        while ok:
            dets = pipeline.analyze(frame)
            dets = dets[dets.scores >= min_score]
            writer.write(draw_detections(frame, dets, copy=False))
            frames, faces = frames + 1, faces + len(dets)
            labels += dets.labels
            progress.update(task, advance=1, total=max(total or 0, frames))
            ok, frame = cap.read()
    writer.release()
    cap.release()
    return {"frames": frames, "faces": faces, "labels": _count(labels)}


def _count(labels: list[str]) -> dict[str, int]:
    return {c: labels.count(c) for c in CLASSES}
