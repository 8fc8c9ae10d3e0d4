"""The classifier on faces cut from annotated VOC boxes, the way a user hands crops to `maskwatch classify`.

The crop-dataset score (`evaluate crops`) sees faces cut as the pipeline cuts them: the detector's box, a square
with a margin. A crop cut by hand or by another tool from an annotated box is framed otherwise (tight, not
square); this scores the classifier on those, through the same GivenCropClassifier `classify` uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from maskwatch.core.detections import BoxLike
from maskwatch.core.errors import UserError
from maskwatch.evaluate.crops import BATCH, CropResult, score_crop_predictions

if TYPE_CHECKING:
    from maskwatch.classify.given import GivenCropClassifier
from maskwatch.evaluate.voc import load_annotations


def cut_box(image: np.ndarray, box: BoxLike, margin: float = 0.0) -> np.ndarray:
    """The pixels of `box` (x1, y1, x2, y2), widened by `margin` of its width / height per side, within the image."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(0, round(x1 - dx)), max(0, round(y1 - dy))
    right, bottom = min(w, round(x2 + dx)), min(h, round(y2 + dy))
    if right <= left or bottom <= top:
        raise UserError(f"box {[x1, y1, x2, y2]} lies outside the {w}x{h} image")
    return image[top:bottom, left:right]


def evaluate_boxes(
    folders: list[Path],
    manifest: Path | None = None,
    margin: float = 0.0,
    classifier: GivenCropClassifier | None = None,
    model_path: Path | None = None,
    find_face: bool = True,
) -> CropResult:
    """Score a GivenCropClassifier (given, or made from model_path / the shipped model) on every non-difficult
    annotated face of the VOC folders (only the images `manifest` lists as val, when given), each cut with cut_box;
    source = folder name."""
    from maskwatch.core.media import read_image

    if margin < 0:
        raise UserError(f"margin must be >= 0, got {margin}")
    if classifier is None:
        from maskwatch.classify.given import GivenCropClassifier

        classifier = GivenCropClassifier.from_model(model_path, find_face)
    crops, labels, sources, names, face_px = [], [], [], [], []
    for folder in map(Path, folders):
        annotations, _ = load_annotations([folder], manifest)
        source = folder.resolve().name
        for ann in annotations:
            image = read_image(ann.image_file)
            for k in np.flatnonzero(~ann.difficult):
                crops.append(cut_box(image, ann.boxes[k], margin))
                labels.append(ann.labels[k])
                sources.append(source)
                names.append(f"{ann.path} face {k}")
                x1, y1, x2, y2 = ann.boxes[k][:4]
                face_px.append(max(x2 - x1, y2 - y1))
    if not crops:
        raise UserError("no annotated faces to score")
    probs = np.concatenate([classifier.predict(crops[i : i + BATCH]) for i in range(0, len(crops), BATCH)])
    brightness = [cv2.cvtColor(c, cv2.COLOR_BGR2GRAY).mean() for c in crops]  # as the data report measures it
    return score_crop_predictions(labels, sources, probs, names, crops, face_px, brightness)
