"""End-to-end scoring on PASCAL VOC photos: detection AP per class, face AP and the compliance view."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES, normalize_label
from maskwatch.data.voc_folder import (  # noqa: F401 (ground truth is read through this module too)
    MIN_FACE_PX,
    ImageAnnotation,
    paths_in_split,
    read_voc_folder,
    read_voc_xml,
    restrict_to_split,
    split_images,
)
from maskwatch.detect.anchors import box_iou
from maskwatch.evaluate.bootstrap import bootstrap_intervals
from maskwatch.evaluate.metrics import (
    FACE,
    ComplianceResult,
    ImagePredictions,
    PRCurve,
    classification_metrics,
    compliance,
    mean_ap,
    pr_curve,
)

if TYPE_CHECKING:
    from maskwatch.pipeline import MaskPipeline

log = logging.getLogger(__name__)

PRIMARY_CLASSES = ("mask", "no_mask")  # what peer models (without an `incorrect` class) are compared on
INCORRECT_MODES = ("keep", "no_mask", "ignore")


# ---- predictions ---------------------------------------------------------------------------------------


def parse_predictions(preds: dict) -> dict[str, ImagePredictions]:
    """`{"file": [{"box": [x1,y1,x2,y2], "label": ..., "score": ...}]}` → ImagePredictions per key."""
    if not isinstance(preds, dict):
        raise UserError("predictions must be a JSON object {file name: [detections]}")
    out = {}
    for name, items in preds.items():
        if not isinstance(items, list):
            raise UserError(f"predictions for {name!r} must be a list of detections")
        boxes, labels, scores = [], [], []
        for item in items:
            try:
                box = [float(v) for v in item["box"]]
                label = normalize_label(str(item["label"]))
                score = float(item["score"])
            except (KeyError, TypeError, ValueError):
                raise UserError(
                    f"predictions for {name!r}: each detection needs box [x1,y1,x2,y2], label and score"
                ) from None
            if len(box) != 4 or label is None:
                raise UserError(f"predictions for {name!r}: bad box {item.get('box')} or label {item.get('label')!r}")
            boxes.append(box)
            labels.append(label)
            scores.append(score)
        out[name] = ImagePredictions(np.array(boxes).reshape(-1, 4), labels, np.array(scores))
    return out


def load_predictions(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: predictions file not found")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None


def _lookup(preds: dict[str, ImagePredictions], ann: ImageAnnotation) -> ImagePredictions | None:
    """Predictions are keyed by file name (or by the full path where names collide, as `maskwatch predict` does)."""
    for key in (ann.name, ann.path, str(Path(ann.path).resolve()) if ann.path else None):
        if key is not None and key in preds:
            return preds[key]
    return None


# ---- scoring -------------------------------------------------------------------------------------------


@dataclass
class VocResult:
    n_images: int
    n_faces: dict[str, int]  # non-difficult GT faces per class
    n_difficult: int
    curves: dict[str, PRCurve]  # per class and FACE
    map_primary: float  # mAP over PRIMARY_CLASSES
    map_all: float  # mAP over CLASSES; NaN where a class has no ground truth
    compliance: ComplianceResult
    n_images_without_predictions: int = 0
    n_images_also_in_train: int = 0
    notes: list[str] = field(default_factory=list)
    subgroups: dict = field(default_factory=dict)  # evaluate.subgroups.subgroup_report, where computed
    intervals: dict[str, list[float]] = field(default_factory=dict)  # evaluate.bootstrap, where computed
    labels_as_annotated: dict = field(default_factory=dict)  # labels_as_annotated_figures, where computed

    @property
    def face_ap(self) -> float:
        return self.curves[FACE].ap

    def to_dict(self) -> dict:
        matched = classification_metrics(self.compliance.confusion, CLASSES)
        return {
            "kind": "voc",
            "n_images": self.n_images,
            "n_faces": self.n_faces,
            "n_difficult": self.n_difficult,
            "ap": {c: self.curves[c].ap for c in CLASSES},
            "map_mask_no_mask": self.map_primary,
            "map_all": self.map_all,
            "face_ap": self.face_ap,
            "detections": {k: {"n_gt": v.n_gt, "n_pred": v.n_pred, "n_tp": v.n_tp} for k, v in self.curves.items()},
            "compliance": self.compliance.to_dict(),
            "matched_classification": matched.to_dict(),
            "n_images_without_predictions": self.n_images_without_predictions,
            "n_images_also_in_train": self.n_images_also_in_train,
            "notes": self.notes,
            "intervals": self.intervals,
            "labels_as_annotated": self.labels_as_annotated,
            **self.subgroups,
        }


def _fold_incorrect(
    annotations: list[ImageAnnotation], preds: dict[str, ImagePredictions], mode: str
) -> tuple[list[ImageAnnotation], dict[str, ImagePredictions]]:
    """For models without an `incorrect` class: score incorrect faces as no_mask, or leave them out (difficult)."""
    if mode == "keep":
        return annotations, preds
    if mode not in INCORRECT_MODES:
        raise UserError(f"incorrect must be one of {', '.join(INCORRECT_MODES)}, got {mode!r}")
    folded = []
    for a in annotations:
        inc = np.array([lab == "incorrect" for lab in a.labels], bool)
        if mode == "no_mask":
            folded.append(replace(a, labels=["no_mask" if i else lab for lab, i in zip(a.labels, inc, strict=True)]))
        else:
            folded.append(replace(a, difficult=a.difficult | inc))
    if mode == "no_mask":
        preds = {
            k: replace(v, labels=["no_mask" if lab == "incorrect" else lab for lab in v.labels])
            for k, v in preds.items()
        }
    return folded, preds


def score_predictions(
    preds: dict,
    annotations: list[ImageAnnotation],
    classes: tuple[str, ...] = PRIMARY_CLASSES,
    threshold: float = 0.5,
    incorrect: str = "keep",
    intervals: bool = False,
    groups: list[str] | None = None,
) -> VocResult:
    """Score a predictions JSON object against ground truth.

    `preds` is `{file name: [{box, label, score}]}` (labels may be any alias normalize_label knows);
    images absent from it count as having no detections, keys absent from `annotations` are ignored.
    `classes` picks the classes of `map_primary`; `threshold` is the operating score of the compliance view.
    `incorrect`: "keep" scores the three classes as labelled; "no_mask" turns every incorrect face and prediction
    into no_mask; "ignore" makes incorrect faces difficult (for comparing with models that lack the class).
    `intervals`: also the 95 % intervals of the figures over resampled images (maskwatch.evaluate.bootstrap), or
    over resampled `groups` of them (one name per annotation: the clip of each frame).
    """
    if not annotations:
        raise UserError("no annotated images to score")
    annotations, parsed = _fold_incorrect(annotations, parse_predictions(preds), incorrect)
    by_image: dict[str, ImagePredictions] = {}
    missing = 0
    for ann in annotations:
        found = _lookup(parsed, ann)
        missing += found is None
        by_image[ann.name] = found or ImagePredictions.empty()
    if len(by_image) != len(annotations):
        raise UserError("two annotated images share a file name; score their folders separately")
    curves = {c: pr_curve(c, annotations, by_image) for c in (*CLASSES, FACE)}
    result = VocResult(
        n_images=len(annotations),
        n_faces={c: curves[c].n_gt for c in CLASSES},
        n_difficult=int(sum(a.difficult.sum() for a in annotations)),
        curves=curves,
        map_primary=mean_ap(curves, tuple(classes)),
        map_all=mean_ap(curves, CLASSES),
        compliance=compliance(annotations, by_image, threshold),
        n_images_without_predictions=missing,
    )
    if intervals:
        result.intervals = bootstrap_intervals(annotations, by_image, tuple(classes), threshold, groups)
    if missing:
        result.notes.append(f"{missing} image(s) have no entry in the predictions (scored as no detections)")
    absent = [c for c in CLASSES if curves[c].n_gt == 0]
    if incorrect != "keep":
        result.notes.append(f"incorrect faces scored as: {incorrect}")
    if absent:
        result.notes.append(f"no ground truth for {', '.join(absent)}: its AP and mAP over all classes are undefined")
    return result


def with_annotated_labels(preds: dict, annotations: list[ImageAnnotation], min_iou: float = 0.5) -> dict:
    """The predictions with every box that overlaps an annotated face (IoU >= min_iou) given the label of the face
    it overlaps most; scores and the other boxes as they were. Keyed by file name, for score_predictions."""
    parsed = parse_predictions(preds)
    out = {}
    for ann in annotations:
        found = _lookup(parsed, ann) or ImagePredictions.empty()
        labels = list(found.labels)
        if len(ann.boxes) and len(found.boxes):
            iou = box_iou(found.boxes, ann.boxes)
            for i in np.flatnonzero(iou.max(axis=1) >= min_iou):
                labels[i] = ann.labels[int(iou[i].argmax())]
        out[ann.name] = [
            {"box": box.tolist(), "label": label, "score": float(score)}
            for box, label, score in zip(found.boxes, labels, found.scores, strict=True)
        ]
    return out


def labels_as_annotated_figures(
    preds: dict,
    annotations: list[ImageAnnotation],
    classes: tuple[str, ...] = PRIMARY_CLASSES,
    threshold: float = 0.5,
    incorrect: str = "keep",
) -> dict:
    """The figures with every box on an annotated face labelled as annotated (with_annotated_labels): their distance
    from the real ones is what the classifier's labels cost. What stays short of 1 is the detector's (faces missed,
    boxes off, false faces) and the ranking's: the scores, which carry the classifier's probabilities, are kept."""
    oracle = score_predictions(with_annotated_labels(preds, annotations), annotations, classes, threshold, incorrect)
    return {
        "map_mask_no_mask": oracle.map_primary,
        "ap": {c: oracle.curves[c].ap for c in CLASSES},
        "unmasked_recall": oracle.compliance.unmasked_recall,  # no masked face is flagged with these labels
    }


def pipeline_predictions(annotations: list[ImageAnnotation], pipeline: MaskPipeline, min_score: float = 0.05) -> dict:
    """Run a MaskPipeline over the annotated images → predictions in the JSON format (keyed by file name).

    min_score is low so the PR curves reach high recall; the compliance view applies its own threshold.
    """
    from maskwatch.core.media import read_image
    from maskwatch.evaluate.subgroup_faces import entries_with_landmarks

    return {
        ann.name: entries_with_landmarks(pipeline.analyze(read_image(ann.image_file), min_score=min_score), min_score)
        for ann in annotations
    }


def load_annotations(folders: list[Path], manifest: Path | None = None) -> tuple[list[ImageAnnotation], int]:
    """Ground truth of VOC folders, only the images `manifest` lists as val when given; also how many of
    those the manifest lists under train as well."""
    if not folders:
        raise UserError("no VOC folders given")
    annotations = [a for folder in folders for a in read_voc_folder(Path(folder))]
    if manifest is None:
        return annotations, 0
    return restrict_to_split(annotations, manifest)


def evaluate_voc(
    folders: list[Path],
    manifest: Path | None = None,
    preds: dict | None = None,
    pipeline: MaskPipeline | None = None,
    threshold: float = 0.5,
    classes: tuple[str, ...] = PRIMARY_CLASSES,
    incorrect: str = "keep",
) -> tuple[VocResult, dict]:
    """Score VOC folders (optionally only their val images per `manifest`) from `preds` or by running `pipeline`.
    Returns the result and the predictions that were scored."""
    if not 0.0 <= threshold <= 1.0:
        raise UserError(f"threshold must be within 0..1, got {threshold}")
    annotations, in_train = load_annotations(folders, manifest)
    if preds is None:
        if pipeline is None:
            raise UserError("give predictions or a pipeline to run")
        preds = pipeline_predictions(annotations, pipeline)
    result = score_predictions(preds, annotations, classes, threshold, incorrect, intervals=True)
    result.n_images_also_in_train = in_train
    result.labels_as_annotated = labels_as_annotated_figures(preds, annotations, classes, threshold, incorrect)
    result.subgroups = voc_subgroups(annotations, preds, threshold, result.notes)
    if in_train:
        result.notes.append(f"{in_train} scored image(s) also have faces in the manifest's train split")
    return result, preds


def voc_subgroups(annotations: list[ImageAnnotation], preds: dict, threshold: float, notes: list[str]) -> dict:
    """The bias audit's figures per subgroup (evaluate.subgroups) of the scored faces, labels as annotated."""
    from maskwatch.evaluate.subgroup_faces import voc_outcomes
    from maskwatch.evaluate.subgroups import subgroup_report

    report = subgroup_report(voc_outcomes(annotations, preds, threshold))
    unknown = sum(b["faces"] for b in report["subgroups"]["pose"] if b["bin"] == "unknown")
    if unknown:
        notes.append(f"pose unknown for {unknown} face(s): no matched detection with landmarks")
    return report
