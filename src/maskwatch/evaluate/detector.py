"""The face detector alone on annotated photos: class-agnostic face AP, and the share of masked, unmasked and
`incorrect` faces it finds at a working score (IoU >= 0.5, one detection per face), overall and by face size.

Boxes are scored after the detector's box calibration, as the pipeline reports them. This is the view the
detector work is judged on (issue 17: masked faces are missed more often than unmasked ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.labels import CLASSES, UNMASKED
from maskwatch.core.media import read_image
from maskwatch.evaluate.metrics import FACE, ImageAnnotation, ImagePredictions, match_one_to_one, pr_curve
from maskwatch.evaluate.voc import load_annotations, read_voc_folder, restrict_to_split

if TYPE_CHECKING:
    from maskwatch.detect.base import FaceDetector
    from maskwatch.detect.calibration import BoxCalibration

RECALL_SCORE = 0.3  # the working score for "found"
SIZE_EDGES = (0, 16, 32, 64, 128, 256, np.inf)  # long side of the annotated box, source pixels


@dataclass
class DetectorScore:
    n_images: int
    face_ap: float
    n_faces: int
    found: dict[str, list[int]] = field(default_factory=dict)  # group -> [found, total] at RECALL_SCORE
    by_size: dict[str, list[int]] = field(default_factory=dict)
    false_detections: int = 0  # at RECALL_SCORE, matching no annotated face (difficult ones included)

    def recall(self, group: str) -> float:
        found, total = self.found.get(group, [0, 0])
        return found / total if total else float("nan")

    def to_dict(self) -> dict:
        return {
            "n_images": self.n_images,
            "face_ap": round(self.face_ap, 4),
            "n_faces": self.n_faces,
            "recall_score": RECALL_SCORE,
            "recall": {g: round(self.recall(g), 4) for g in self.found},
            "found": self.found,
            "by_size": self.by_size,
            "false_detections": self.false_detections,
            "false_detections_per_image": round(self.false_detections / max(self.n_images, 1), 3),
        }


def _size_label(lo: float, hi: float) -> str:
    return f"{int(lo)}+" if np.isinf(hi) else f"{int(lo)}-{int(hi)}"


def score_detections(
    annotations: list[ImageAnnotation], predictions: dict[str, ImagePredictions], min_score: float = RECALL_SCORE
) -> DetectorScore:
    """Face AP over all predictions; found / total per class (and `unmasked`) and per size at min_score."""
    curve = pr_curve(FACE, annotations, predictions)
    groups = (*CLASSES, "unmasked", "all")
    found = {g: [0, 0] for g in groups}
    sizes = list(pairwise(SIZE_EDGES))
    by_size = {_size_label(lo, hi): [0, 0] for lo, hi in sizes}
    false = 0
    for ann in annotations:
        pred = predictions.get(ann.name) or ImagePredictions.empty()
        keep = pred.scores >= min_score
        owner = match_one_to_one(ann.boxes, pred.boxes[keep], pred.scores[keep])
        false += int(keep.sum()) - int((owner >= 0).sum())
        for j, (label, hard) in enumerate(zip(ann.labels, ann.difficult, strict=True)):
            if hard:
                continue
            hit = int(owner[j] >= 0)
            side = float(np.max(ann.boxes[j, 2:] - ann.boxes[j, :2]))
            for g in (label, "all", *(["unmasked"] if label in UNMASKED else [])):
                found[g][0] += hit
                found[g][1] += 1
            for lo, hi in sizes:
                if lo <= side < hi:
                    by_size[_size_label(lo, hi)][0] += hit
                    by_size[_size_label(lo, hi)][1] += 1
    return DetectorScore(len(annotations), curve.ap, curve.n_gt, found, by_size, false)


def detector_predictions(
    annotations: list[ImageAnnotation],
    detector: FaceDetector,
    calibration: BoxCalibration,
    min_score: float = 0.02,
    progress: bool = False,
) -> dict[str, ImagePredictions]:
    """Calibrated face boxes and face scores of `detector` on each annotated image."""
    items: Iterable[ImageAnnotation] = annotations
    if progress:
        from rich.progress import track

        items = track(annotations, description="detecting", transient=True)
    out: dict[str, ImagePredictions] = {}
    for ann in items:
        image = read_image(ann.image_file)
        dets = detector.detect(image, min_score=min_score)
        boxes = calibration.apply(dets.xyxy, image.shape) if len(dets) else dets.xyxy
        out[ann.name] = ImagePredictions(boxes, [FACE] * len(dets), dets.det_scores)
    return out


def split_annotations(folders: list[Path], manifest: Path | None, split: str = "val") -> list[ImageAnnotation]:
    """Annotated photos of the folders, only those the manifest lists under `split` when one is given."""
    if manifest is None or split == "val":
        return load_annotations(folders, manifest)[0]
    return restrict_to_split([a for f in folders for a in read_voc_folder(Path(f))], manifest, split)[0]
