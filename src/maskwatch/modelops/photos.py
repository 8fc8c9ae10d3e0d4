"""Both classifiers on validation photos (PASCAL VOC folders) behind the same face detector: the detector runs once
per photo and its faces are classified by each model, so the figures differ by the classifier alone."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.modelops.subgroups import subgroup_deltas, subgroup_warnings

FIGURES = ("map_mask_no_mask", "map_all", "face_ap")
COMPLIANCE_FIGURES = ("unmasked_recall", "masked_false_alarm_rate", "n_unmasked_missed", "n_masked_false_alarm")


class SameFaces:
    """A face detector that answers each image once and repeats its faces (copies) for the same pixels after."""

    def __init__(self, detector: object):
        self.detector = detector
        self._seen: dict[tuple[bytes, float | None], Detections] = {}

    def detect_batch(self, images: list[np.ndarray], min_score: float | None = None) -> list[Detections]:
        keys = [(hashlib.sha1(im.tobytes()).digest(), min_score) for im in images]
        todo = [i for i, k in enumerate(keys) if k not in self._seen]
        if todo:
            found = self.detector.detect_batch([images[i] for i in todo], min_score)  # type: ignore[attr-defined]
            for i, dets in zip(todo, found, strict=True):
                self._seen[keys[i]] = dets
        return [copy.deepcopy(self._seen[k]) for k in keys]

    def detect(self, image: np.ndarray, min_score: float | None = None) -> Detections:
        return self.detect_batch([image], min_score)[0]


def compare_photos(
    model_a: Path, model_b: Path, folders: list[Path], manifest: Path | None, detector: str | None = None
) -> dict:
    """Both models' VOC metrics (evaluate voc) on the same photos and faces, and their differences with intervals
    from resampling the photos (evaluate.bootstrap.paired_differences)."""
    from maskwatch.evaluate.bootstrap import paired_differences
    from maskwatch.evaluate.voc import PRIMARY_CLASSES, evaluate_voc, load_annotations, parse_predictions
    from maskwatch.pipeline import MaskPipeline

    first = MaskPipeline.from_defaults(classifier_path=model_a, detector=detector)
    shared = SameFaces(first.detector)
    metrics, scored = {}, {}
    for key, path in (("a", model_a), ("b", model_b)):
        pipeline = MaskPipeline.from_defaults(classifier_path=path, detector=detector)
        pipeline.detector = shared  # type: ignore[assignment]  # the faces found for A are the faces B judges
        result, preds = evaluate_voc(folders, manifest, pipeline=pipeline)
        metrics[key] = result.to_dict()
        scored[key] = parse_predictions(preds)
    annotations, _ = load_annotations(folders, manifest)
    side = {key: _photo_summary(m) for key, m in metrics.items()}
    deltas = subgroup_deltas(metrics["a"], metrics["b"])
    return {
        "set": "photos",
        "a": side["a"],
        "b": side["b"],
        "subgroups": [d.to_dict() for d in deltas],
        "subgroup_warnings": subgroup_warnings(deltas),
        "differences": paired_differences(annotations, scored["a"], scored["b"], PRIMARY_CLASSES),
        "metrics": metrics,
    }


def _photo_summary(metrics: dict) -> dict:
    matched = metrics["matched_classification"]
    return {
        "n": metrics["n_images"],
        "accuracy": matched["accuracy"],
        "macro_f1": matched["macro_f1"],
        "per_class": matched["per_class"],
        **{f: metrics[f] for f in FIGURES},
        "unmasked_recall": metrics["compliance"]["unmasked_recall"],
        "false_alarms": metrics["compliance"]["n_masked_false_alarm"],
        "false_alarm_rate": metrics["compliance"]["masked_false_alarm_rate"],
    }
