"""End-to-end scoring on PASCAL VOC photos: detection AP per class, face AP and the compliance view."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES, normalize_label
from maskwatch.data.manifest import read_manifest
from maskwatch.data.voc_xml import VocAnnotation, parse_voc_xml
from maskwatch.evaluate.metrics import (
    FACE,
    ComplianceResult,
    ImageAnnotation,
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

# Faces whose shorter side is under this many pixels are scored as "difficult" (neither found nor missed):
# the dataset build drops them for the same reason, they cannot be judged masked or not.
MIN_FACE_PX = 10
PRIMARY_CLASSES = ("mask", "no_mask")  # what peer models (without an `incorrect` class) are compared on
INCORRECT_MODES = ("keep", "no_mask", "ignore")


# ---- reading ground truth ----------------------------------------------------------------------------


def _image_annotation(voc: VocAnnotation, xml_path: Path, image_path: Path, min_face_px: float) -> ImageAnnotation:
    boxes, labels, difficult = [], [], []
    width, height = voc.width, voc.height
    for obj in voc.objects:
        label = normalize_label(obj.name)
        if label is None:
            continue
        if obj.error:
            raise UserError(f"{xml_path}: {obj.error}")
        box = obj.box
        if width > 0 and height > 0:
            box = [
                min(max(box[0], 0), width),
                min(max(box[1], 0), height),
                min(max(box[2], 0), width),
                min(max(box[3], 0), height),
            ]
        if box[2] <= box[0] or box[3] <= box[1]:
            continue  # empty, or wholly outside the image
        boxes.append(box)
        labels.append(label)
        difficult.append(obj.difficult or min(box[2] - box[0], box[3] - box[1]) < min_face_px)
    return ImageAnnotation(
        image_path.name, np.array(boxes).reshape(-1, 4), labels, np.array(difficult, bool), str(image_path)
    )


def read_voc_xml(xml_path: Path, image_path: Path | None = None, min_face_px: float = MIN_FACE_PX) -> ImageAnnotation:
    """One VOC annotation file; boxes clipped to the image, unknown class names skipped, tiny faces difficult."""
    try:
        voc = parse_voc_xml(xml_path)
    except (ET.ParseError, OSError) as err:
        raise UserError(f"{xml_path}: not a readable VOC annotation ({err})") from None
    image_path = image_path or xml_path.with_name(voc.filename or xml_path.stem + ".jpg")
    return _image_annotation(voc, xml_path, image_path, min_face_px)


def read_voc_folder(folder: Path, min_face_px: float = MIN_FACE_PX) -> list[ImageAnnotation]:
    """Every annotated image of a VOC folder (annotations/*.xml, images/ or anywhere below the folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    xml_dir = folder / "annotations" if (folder / "annotations").is_dir() else folder
    xml_files = sorted(xml_dir.rglob("*.xml"))
    if not xml_files:
        raise UserError(f"{folder}: no VOC annotations (*.xml) found")
    images = [p for p in sorted(folder.rglob("*")) if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp")]
    by_name = {p.name: p for p in images}
    by_stem = {p.stem: p for p in images}
    out = []
    for xml_path in xml_files:
        try:
            voc = parse_voc_xml(xml_path)
        except (ET.ParseError, OSError) as err:
            log.warning("%s: not a readable VOC annotation (%s), skipped", xml_path, err)
            continue
        if voc.tag != "annotation":  # another XML file in the folder, as the importer also skips
            log.warning("%s: root element <%s>, not <annotation>, skipped", xml_path, voc.tag)
            continue
        image = by_name.get(Path(voc.filename).name) or by_stem.get(xml_path.stem)
        if image is None:
            log.warning("%s: image not found, skipped", xml_path)
            continue
        out.append(_image_annotation(voc, xml_path, image.absolute(), min_face_px))
    return out


# ---- restricting to our validation split ---------------------------------------------------------------


def _path_suffix(path: str, n: int = 3) -> tuple[str, ...]:
    return Path(path.replace("\\", "/")).parts[-n:]


def split_images(manifest: Path) -> dict[str, set[str]]:
    """`image` paths of the manifest's rows, per split (train, val)."""
    split: dict[str, set[str]] = {"val": set(), "train": set()}
    for row in read_manifest(manifest, ("image", "split")):
        split.setdefault(row.split, set()).add(row.image)
    return split


def paths_in_split(paths: list[str], manifest: Path, split: str = "val") -> tuple[list[int], int]:
    """Indices of the image paths the manifest lists under `split`, matched on the path's last three parts
    (source/images/file) so absolute and relative manifest paths both work; also how many of those the manifest
    lists under the other split as well (a leak worth knowing about)."""
    images = split_images(manifest)
    wanted, other = images.get(split, set()), set().union(*(v for k, v in images.items() if k != split))
    key_len = min((len(Path(p).parts) for p in wanted), default=3)
    key_len = max(1, min(3, key_len))
    wanted_keys = {_path_suffix(p, key_len) for p in wanted}
    other_keys = {_path_suffix(p, key_len) for p in other}

    def keys(path: str) -> set[tuple[str, ...]]:
        return {_path_suffix(path, key_len), _path_suffix(str(Path(path).resolve()), key_len)}  # links too

    kept = [i for i, p in enumerate(paths) if keys(p) & wanted_keys]
    both = sum(bool(keys(paths[i]) & other_keys) for i in kept)
    if not kept:
        raise UserError(f"{manifest}: none of the given images is listed with split == {split}")
    return kept, both


def restrict_to_split(
    annotations: list[ImageAnnotation], manifest: Path, split: str = "val"
) -> tuple[list[ImageAnnotation], int]:
    """The annotations whose image the manifest lists under `split` (see paths_in_split)."""
    kept, both = paths_in_split([a.path or a.name for a in annotations], manifest, split)
    return [annotations[i] for i in kept], both


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
) -> VocResult:
    """Score a predictions JSON object against ground truth.

    `preds` is `{file name: [{box, label, score}]}` (labels may be any alias normalize_label knows);
    images absent from it count as having no detections, keys absent from `annotations` are ignored.
    `classes` picks the classes of `map_primary`; `threshold` is the operating score of the compliance view.
    `incorrect`: "keep" scores the three classes as labelled; "no_mask" turns every incorrect face and prediction
    into no_mask; "ignore" makes incorrect faces difficult (for comparing with models that lack the class).
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
    if missing:
        result.notes.append(f"{missing} image(s) have no entry in the predictions (scored as no detections)")
    absent = [c for c in CLASSES if curves[c].n_gt == 0]
    if incorrect != "keep":
        result.notes.append(f"incorrect faces scored as: {incorrect}")
    if absent:
        result.notes.append(f"no ground truth for {', '.join(absent)}: its AP and mAP over all classes are undefined")
    return result


def pipeline_predictions(annotations: list[ImageAnnotation], pipeline: MaskPipeline, min_score: float = 0.05) -> dict:
    """Run a MaskPipeline over the annotated images → predictions in the JSON format (keyed by file name).

    min_score is low so the PR curves reach high recall; the compliance view applies its own threshold.
    """
    from maskwatch.core.media import read_image
    from maskwatch.pipeline.files import prediction_entries

    return {
        ann.name: prediction_entries(pipeline.analyze(read_image(ann.image_file), min_score=min_score), min_score)
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
    result = score_predictions(preds, annotations, classes, threshold, incorrect)
    result.n_images_also_in_train = in_train
    if in_train:
        result.notes.append(f"{in_train} scored image(s) also have faces in the manifest's train split")
    return result, preds
