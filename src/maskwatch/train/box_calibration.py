"""Fitting the box calibration (maskwatch.detect.calibration) on the training split of VOC photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.progress import track

from maskwatch.core.media import read_image
from maskwatch.detect import BoxCalibration, RetinaFaceDetector
from maskwatch.detect.calibration import fit_calibration, matched_pairs
from maskwatch.detect.retinaface import DEFAULT_MODEL
from maskwatch.evaluate.voc import read_voc_folder, restrict_to_split


def fit_boxes(
    folders: list[Path],
    manifest: Path,
    input_size: int = 1024,
    min_score: float = 0.5,
    model_path: Path = DEFAULT_MODEL,
) -> BoxCalibration:
    """Detector boxes matched to annotated faces on the images the manifest puts in train; sources weigh equally."""
    annotations, _ = restrict_to_split([a for f in folders for a in read_voc_folder(Path(f))], manifest, split="train")
    detector = RetinaFaceDetector(model_path, input_size=input_size, min_score=min_score)
    det_boxes, ann_boxes, groups = [], [], []
    for ann in track(annotations, description="matching detector boxes"):
        keep = ~ann.difficult
        d, a = matched_pairs(detector.detect(read_image(ann.image_file)).xyxy, ann.boxes[keep])
        det_boxes.append(d)
        ann_boxes.append(a)
        groups += [ann.image_file.parts[-3]] * len(d)
    return fit_calibration(np.concatenate(det_boxes), np.concatenate(ann_boxes), np.array(groups))
