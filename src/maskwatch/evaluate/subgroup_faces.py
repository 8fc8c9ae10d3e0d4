"""The faces behind the subgroup figures: one FaceOutcome per ground-truth face of VOC photos or per val crop."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.classify.crop import CROP_SIZE, square_box
from maskwatch.core.detections import BoxLike
from maskwatch.data.voc_folder import ImageAnnotation
from maskwatch.detect.anchors import box_iou
from maskwatch.evaluate.metrics import match_one_to_one
from maskwatch.evaluate.subgroups import FaceOutcome, face_luma, mask_colour, yaw_ratio

if TYPE_CHECKING:
    from maskwatch.core.detections import Detections
    from maskwatch.detect.retinaface import RetinaFaceDetector

CROP_POSE_INPUT = 224  # detector input side for finding the landmarks of a 112 px crop
CROP_POSE_MIN_SCORE = 0.3
CROP_POSE_MIN_IOU = 0.3
POSE_BATCH = 64  # crops per detector run: 256 at once held 1.6 GB


def entries_with_landmarks(dets: Detections, min_score: float) -> list[dict]:
    """`maskwatch predict` JSON entries ({box, label, score}) with each face's five landmarks added."""
    from maskwatch.pipeline.files import prediction_entries

    entries = prediction_entries(dets, min_score)
    if dets.landmarks is not None:
        kept = dets.landmarks[dets.scores >= min_score]
        for entry, points in zip(entries, kept, strict=True):
            entry["landmarks"] = [[round(float(x), 1), round(float(y), 1)] for x, y in points]
    return entries


def _parse(items: list[dict]) -> tuple[np.ndarray, np.ndarray, list[str], list[np.ndarray | None]]:
    boxes = np.array([[float(v) for v in it["box"]] for it in items], np.float64).reshape(-1, 4)
    scores = np.array([float(it["score"]) for it in items], np.float64)
    labels = [str(it["label"]) for it in items]
    points = [np.asarray(it["landmarks"], np.float64) if it.get("landmarks") else None for it in items]
    return boxes, scores, labels, points


def image_outcomes(
    image: np.ndarray | None, ann: ImageAnnotation, items: list[dict], threshold: float
) -> list[FaceOutcome]:
    """Outcomes of an image's non-difficult faces. Labels come from predictions at >= threshold matched one to
    one as the compliance view matches them (normalized labels expected); landmarks from the prediction matched
    to the face among all predictions, so a face found below the operating score still has a pose."""
    from maskwatch.core.labels import normalize_label

    boxes, scores, labels, points = _parse(items)
    keep = scores >= threshold
    owner = match_one_to_one(ann.boxes, boxes[keep], scores[keep])
    kept_labels = [normalize_label(lab) or lab for lab, k in zip(labels, keep, strict=True) if k]
    any_owner = match_one_to_one(ann.boxes, boxes, scores)
    outcomes = []
    for j, (label, hard) in enumerate(zip(ann.labels, ann.difficult, strict=True)):
        if hard:
            continue
        box = ann.boxes[j]
        said = kept_labels[owner[j]] if owner[j] >= 0 else None
        lm = points[any_owner[j]] if any_owner[j] >= 0 else None
        outcomes.append(
            FaceOutcome(
                label,
                said,
                said is not None,
                float(max(box[2] - box[0], box[3] - box[1])),
                face_luma(image, box) if image is not None else math.nan,
                yaw_ratio(lm),
                mask_colour(image, box) if image is not None and label == "mask" else None,
            )
        )
    return outcomes


def voc_outcomes(annotations: list[ImageAnnotation], predictions: dict, threshold: float) -> list[FaceOutcome]:
    """Every non-difficult face of the annotated images (read again for their pixels); `predictions` is the
    scored JSON object keyed by image name, its entries with "landmarks" where known (see entries_with_landmarks)."""
    from maskwatch.core.errors import UserError
    from maskwatch.core.media import read_image

    outcomes = []
    for ann in annotations:
        items = predictions.get(ann.name) or predictions.get(ann.path or "") or []
        try:
            image = read_image(ann.image_file)
        except (UserError, ValueError):
            image = None
        outcomes.extend(image_outcomes(image, ann, items, threshold))
    return outcomes


def box_in_crop(box: BoxLike, size: int = CROP_SIZE) -> np.ndarray:
    """Where a source-image face box lies in the face_crop cut from it (size x size)."""
    sx1, sy1, sx2, _ = square_box(box)
    scale = size / max(float(sx2 - sx1), 1e-6)
    return (np.asarray(box[:4], np.float64) - np.array([sx1, sy1, sx1, sy1])) * scale


def crop_pose(dets: Detections, face: np.ndarray) -> float:
    """Yaw ratio of the detection in a crop that overlaps `face` (crop pixels) best; NaN where none does."""
    if not len(dets) or dets.landmarks is None:
        return math.nan
    overlap = box_iou(dets.xyxy, face).ravel()
    best = int(np.argmax(overlap * dets.det_scores))
    return yaw_ratio(dets.landmarks[best]) if overlap[best] >= CROP_POSE_MIN_IOU else math.nan


def crop_outcomes(
    crops: Sequence[np.ndarray],
    labels: Sequence[str],
    said: Sequence[str],
    boxes: Sequence[BoxLike | None],
    face_px: Sequence[float],
    detector: RetinaFaceDetector,
) -> list[FaceOutcome]:
    """Val crops classified as given (detected is None): size from the manifest, luma and mask colour inside the
    face box mapped into each crop (the whole crop where the box is unknown), pose from a detector run over
    POSE_BATCH crops at a time."""
    found = []
    for start in range(0, len(crops), POSE_BATCH):
        found += detector.detect_batch(list(crops[start : start + POSE_BATCH]))
    outcomes = []
    for crop, label, guess, box, px, dets in zip(crops, labels, said, boxes, face_px, found, strict=True):
        h, w = crop.shape[:2]
        face = box_in_crop(box, h) if box is not None else np.array([0, 0, w, h], np.float64)
        outcomes.append(
            FaceOutcome(
                label,
                guess,
                None,
                px,
                face_luma(crop, face),
                crop_pose(dets, face),
                mask_colour(crop, face) if label == "mask" else None,
            )
        )
    return outcomes


def pose_detector() -> RetinaFaceDetector:
    from maskwatch.detect.retinaface import RetinaFaceDetector

    return RetinaFaceDetector(input_size=CROP_POSE_INPUT, min_score=CROP_POSE_MIN_SCORE)


def parse_box(text: str) -> np.ndarray | None:
    """A manifest's "x1 y1 x2 y2" box, None where absent or malformed."""
    try:
        values = [float(v) for v in text.split()]
    except ValueError:
        return None
    return np.array(values) if len(values) == 4 else None
