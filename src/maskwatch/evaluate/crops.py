"""Classifier scoring on the val split of a crop dataset (DIR/manifest.csv + DIR/crops/...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.data.manifest import read_manifest
from maskwatch.evaluate.metrics import (
    ClassificationResult,
    PRCurve,
    average_precision,
    classification_metrics,
    confusion_matrix,
)

if TYPE_CHECKING:
    from maskwatch.classify import MaskClassifier

BATCH = 256


@dataclass
class CropRow:
    path: Path
    label: str
    source: str
    face_px: float = float("nan")  # long side of the face in its source image, where the manifest says
    brightness: float = float("nan")  # the crop's mean grey (0..255), where the manifest says
    box: str = ""  # the face in its source image, "x1 y1 x2 y2", where the manifest says


@dataclass
class Mistake:
    path: str
    source: str
    label: str
    predicted: str
    probability: float  # of the predicted class
    crop: np.ndarray | None = field(default=None, repr=False, compare=False)  # the pixels, where not on disk


@dataclass
class CropResult:
    n_crops: int
    classification: ClassificationResult
    curves: dict[str, PRCurve]  # one-vs-rest, ranked by the class probability
    per_source: dict[str, dict]  # source -> {"n", "accuracy"}
    per_face_px: dict[str, dict] = field(default_factory=dict)  # face size bucket (source px) -> {"n", "accuracy"}
    per_brightness: dict[str, dict] = field(default_factory=dict)  # crop mean grey bucket -> {"n", "accuracy"}
    mistakes: list[Mistake] = field(default_factory=list)  # filled where the crops' paths are known
    notes: list[str] = field(default_factory=list)  # what the reader should know, e.g. inputs left out
    subgroups: dict = field(default_factory=dict)  # evaluate.subgroups.subgroup_report, where computed

    def to_dict(self) -> dict:
        return {
            "kind": "crops",
            "n_crops": self.n_crops,
            **self.classification.to_dict(),
            "ap": {c: v.ap for c, v in self.curves.items()},
            "per_source": self.per_source,
            "per_face_px": self.per_face_px,
            "per_brightness": self.per_brightness,
            "notes": self.notes,
            **self.subgroups,
        }


def read_val_rows(dataset_dir: Path, split: str = "val") -> list[CropRow]:
    dataset_dir = Path(dataset_dir)
    return [
        CropRow(dataset_dir / r.path, r.label, r.source, r.face_px, r.brightness, r.box)
        for r in read_manifest(dataset_dir, split=split)
    ]


def one_vs_rest_curve(label: str, is_label: np.ndarray, scores: np.ndarray) -> PRCurve:
    """PR curve of one class over crops ranked by that class's probability (every crop is one 'detection')."""
    order = np.argsort(-scores, kind="stable")
    hit = is_label[order]
    tp, n_gt = np.cumsum(hit), int(is_label.sum())
    recall = tp / n_gt if n_gt else np.zeros(len(tp))
    precision = tp / np.arange(1, len(tp) + 1)
    ap = average_precision(recall, precision) if n_gt else float("nan")
    return PRCurve(label, ap, n_gt, len(scores), int(hit.sum()), recall, precision, scores[order])


def accuracy_by_bucket(
    correct: np.ndarray, values: np.ndarray | Sequence[float] | None, edges: Sequence[float]
) -> dict[str, dict]:
    """{bucket: {"n", "accuracy"}} over the data report's buckets (`edges`), for crops whose value is known."""
    from maskwatch.data.report import bucket_index, bucket_names

    if values is None:
        return {}
    values = np.asarray(values, float)
    known = np.isfinite(values)
    idx = bucket_index(values[known], edges)
    right = correct[known]
    return {
        name: {"n": int((idx == b).sum()), "accuracy": float(right[idx == b].mean())}
        for b, name in enumerate(bucket_names(edges))
        if (idx == b).any()
    }


def score_crop_predictions(
    labels: list[str],
    sources: list[str],
    probs: np.ndarray,
    paths: list | None = None,
    crops: list[np.ndarray] | None = None,
    face_px: np.ndarray | Sequence[float] | None = None,
    brightness: np.ndarray | Sequence[float] | None = None,
) -> CropResult:
    """Metrics for (N, 3) probabilities over CLASSES against true labels; with paths (names of the crops), the
    misclassified crops too, with their pixels where `crops` gives them; with face_px (the face's long side in its
    source image) and brightness (the crop's mean grey), NaN where unknown, accuracy per face size and lighting."""
    from maskwatch.data.report import BRIGHTNESS_BUCKETS, FACE_PX_BUCKETS

    probs = np.asarray(probs, np.float64)
    if probs.shape != (len(labels), len(CLASSES)):
        raise UserError(f"expected ({len(labels)}, {len(CLASSES)}) probabilities, got {probs.shape}")
    predicted = [CLASSES[i] for i in probs.argmax(axis=1)]
    result = classification_metrics(confusion_matrix(labels, predicted, CLASSES), CLASSES)
    truth = np.array(labels)
    curves = {c: one_vs_rest_curve(c, truth == c, probs[:, k]) for k, c in enumerate(CLASSES)}
    correct = truth == np.array(predicted)
    src = np.array(sources)
    per_source = {
        s: {"n": int((src == s).sum()), "accuracy": float(correct[src == s].mean())} for s in sorted(set(sources))
    }
    mistakes = (
        [
            Mistake(
                str(paths[i]),
                sources[i],
                labels[i],
                predicted[i],
                float(probs[i].max()),
                crops[i] if crops is not None else None,
            )
            for i in np.flatnonzero(~correct)
        ]
        if paths is not None
        else []
    )
    mistakes.sort(key=lambda m: (m.source, m.label, m.predicted, m.path))
    return CropResult(
        len(labels),
        result,
        curves,
        per_source,
        accuracy_by_bucket(correct, face_px, FACE_PX_BUCKETS),
        accuracy_by_bucket(correct, brightness, BRIGHTNESS_BUCKETS),
        mistakes,
    )


def evaluate_crops(
    dataset_dir: Path, classifier: MaskClassifier | None = None, model_path: Path | None = None
) -> CropResult:
    """Score a MaskClassifier (given, or loaded from model_path / the shipped model) on DIR's val split."""
    from maskwatch.core.media import read_image
    from maskwatch.evaluate.subgroup_faces import crop_outcomes, parse_box, pose_detector
    from maskwatch.evaluate.subgroups import subgroup_report

    rows = read_val_rows(dataset_dir)
    if classifier is None:
        from maskwatch.classify import MaskClassifier

        classifier = MaskClassifier(model_path)
    detector = pose_detector()
    probs, outcomes = [], []
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        batch = [read_image(r.path) for r in part]
        probs.append(classifier.predict(np.stack(batch) if len({b.shape for b in batch}) == 1 else batch))
        outcomes += crop_outcomes(
            batch,
            [r.label for r in part],
            [CLASSES[int(k)] for k in probs[-1].argmax(axis=1)],
            [parse_box(r.box) for r in part],
            [r.face_px for r in part],
            detector,
        )
    result = score_crop_predictions(
        [r.label for r in rows],
        [r.source for r in rows],
        np.concatenate(probs),
        [r.path for r in rows],
        face_px=[r.face_px for r in rows],
        brightness=[r.brightness for r in rows],
    )
    result.subgroups = subgroup_report(outcomes)
    return result
