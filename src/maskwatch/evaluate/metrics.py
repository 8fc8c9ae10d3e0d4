"""Detection, classification and compliance metrics in plain numpy.

Detection follows PASCAL VOC 2010+: per class, predictions are ranked by score over all images; each one is
matched to the ground-truth box it overlaps most (IoU >= 0.5) in its image. A first match is a true positive,
a second match of the same box a false positive (duplicate), a match of a `difficult` box (of any class: a face
too small or unclear to judge) is ignored, and no match is a false positive. AP is the area under the precision
envelope (all-point interpolation). IoU is on continuous pixel coordinates (no VOC "+1").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskwatch.core.labels import CLASSES, UNMASKED
from maskwatch.data.voc_folder import ImageAnnotation
from maskwatch.detect.anchors import box_iou

IOU_THRESHOLD = 0.5
FACE = "face"  # the single label of class-agnostic scoring

TP, FP, IGNORED = 1, 0, -1


@dataclass
class ImagePredictions:
    """Predicted faces of one image: boxes (N, 4), one label each, scores (N,)."""

    boxes: np.ndarray
    labels: list[str]
    scores: np.ndarray

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, np.float64).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float64).reshape(-1)

    @classmethod
    def empty(cls) -> ImagePredictions:
        return cls(np.zeros((0, 4)), [], np.zeros(0))


@dataclass
class PRCurve:
    """Precision/recall of one class as the score threshold falls; ap is NaN where the class has no ground truth."""

    label: str
    ap: float
    n_gt: int
    n_pred: int
    n_tp: int
    recall: np.ndarray = field(repr=False)
    precision: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC 2010+ all-point interpolated AP: area under the running-max-from-the-right precision."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def match_image(
    gt_boxes: np.ndarray,
    gt_difficult: np.ndarray,
    pred_boxes: np.ndarray,
    pred_scores: np.ndarray,
    iou_threshold: float = IOU_THRESHOLD,
) -> np.ndarray:
    """VOC matching inside one image: TP / FP / IGNORED for each prediction (in the given order)."""
    status = np.full(len(pred_boxes), FP, np.int8)
    if len(pred_boxes) == 0 or len(gt_boxes) == 0:
        return status
    ious = box_iou(pred_boxes, gt_boxes)
    taken = np.zeros(len(gt_boxes), bool)
    for i in np.argsort(-pred_scores, kind="stable"):
        j = int(ious[i].argmax())
        if ious[i, j] < iou_threshold:
            continue
        if gt_difficult[j]:
            status[i] = IGNORED
        elif not taken[j]:
            status[i] = TP
            taken[j] = True
    return status


@dataclass
class ImageMatches:
    """One class's predictions in one image, VOC-matched: their scores, which are true positives (difficult
    matches left out), and how many faces of the class the image holds."""

    scores: np.ndarray
    is_tp: np.ndarray
    n_gt: int


def image_matches(
    label: str, ann: ImageAnnotation, pred: ImagePredictions | None, iou_threshold: float = IOU_THRESHOLD
) -> ImageMatches:
    """VOC matching of one class in one image; label FACE scores every box regardless of its class."""

    def pick(labels: list[str]) -> np.ndarray:
        return np.ones(len(labels), bool) if label == FACE else np.array([x == label for x in labels], bool)

    # a difficult face absorbs predictions of any label: its class cannot be judged either
    g = pick(ann.labels) | ann.difficult
    pred = pred or ImagePredictions.empty()
    p = pick(pred.labels)
    status = match_image(ann.boxes[g], ann.difficult[g], pred.boxes[p], pred.scores[p], iou_threshold)
    keep = status != IGNORED
    return ImageMatches(pred.scores[p][keep], status[keep] == TP, int(np.sum(g & ~ann.difficult)))


def pr_curve(
    label: str,
    annotations: list[ImageAnnotation],
    predictions: dict[str, ImagePredictions],
    iou_threshold: float = IOU_THRESHOLD,
) -> PRCurve:
    """VOC precision/recall and AP of one class over all images; label FACE scores every box regardless of its
    class."""
    parts = [image_matches(label, ann, predictions.get(ann.name), iou_threshold) for ann in annotations]
    n_gt = sum(m.n_gt for m in parts)
    scores_all = np.concatenate([m.scores for m in parts]) if parts else np.zeros(0)
    tp_all = np.concatenate([m.is_tp for m in parts]) if parts else np.zeros(0, bool)
    order = np.argsort(-scores_all, kind="stable")
    scores_all, is_tp = scores_all[order], tp_all[order]
    tp, fp = np.cumsum(is_tp), np.cumsum(~is_tp)
    recall = tp / n_gt if n_gt else np.zeros(len(tp))
    precision = tp / np.maximum(tp + fp, 1)
    ap = average_precision(recall, precision) if n_gt else float("nan")
    return PRCurve(label, ap, n_gt, len(scores_all), int(is_tp.sum()), recall, precision, scores_all)


def mean_ap(curves: dict[str, PRCurve], classes: tuple[str, ...]) -> float:
    """Mean AP over `classes`; NaN where one of them has no ground truth (the mean would be over something else)."""
    aps = [curves[c].ap for c in classes]
    return float(np.mean(aps)) if aps and not np.any(np.isnan(aps)) else float("nan")


# ---- classification ----------------------------------------------------------------------------------


@dataclass
class ClassificationResult:
    """Confusion matrix (rows: true class, columns: predicted class) and what follows from it."""

    classes: tuple[str, ...]
    confusion: np.ndarray
    accuracy: float
    precision: dict[str, float]
    recall: dict[str, float]
    f1: dict[str, float]
    support: dict[str, int]
    macro_f1: float  # over the classes that occur as truth or prediction

    def to_dict(self) -> dict:
        return {
            "classes": list(self.classes),
            "confusion": self.confusion.tolist(),
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class": {
                c: {
                    "precision": self.precision[c],
                    "recall": self.recall[c],
                    "f1": self.f1[c],
                    "support": self.support[c],
                }
                for c in self.classes
            },
        }


def confusion_matrix(true: list[str], pred: list[str], classes: tuple[str, ...] = CLASSES) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    cm = np.zeros((len(classes), len(classes)), np.int64)
    for t, p in zip(true, pred, strict=True):
        cm[index[t], index[p]] += 1
    return cm


def classification_metrics(confusion: np.ndarray, classes: tuple[str, ...] = CLASSES) -> ClassificationResult:
    """Accuracy and per-class precision/recall/F1 from a confusion matrix; 0 where a ratio has no denominator."""
    cm = np.asarray(confusion, np.float64)
    tp, true_n, pred_n = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    precision = np.divide(tp, pred_n, out=np.zeros_like(tp), where=pred_n > 0)
    recall = np.divide(tp, true_n, out=np.zeros_like(tp), where=true_n > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = (true_n > 0) | (pred_n > 0)
    total = cm.sum()
    return ClassificationResult(
        classes=tuple(classes),
        confusion=np.asarray(confusion, np.int64),
        accuracy=float(tp.sum() / total) if total else float("nan"),
        precision=dict(zip(classes, map(float, precision), strict=True)),
        recall=dict(zip(classes, map(float, recall), strict=True)),
        f1=dict(zip(classes, map(float, f1), strict=True)),
        support=dict(zip(classes, map(int, true_n), strict=True)),
        macro_f1=float(f1[present].mean()) if present.any() else float("nan"),
    )


# ---- compliance ---------------------------------------------------------------------------------------


@dataclass
class ComplianceResult:
    """What a compliance operator sees at one score threshold.

    Predictions at or above the threshold are matched one-to-one to ground-truth faces (highest score first,
    IoU >= 0.5, regardless of label); difficult faces are left out of every count.
    """

    threshold: float
    n_unmasked: int  # GT no_mask + incorrect faces
    n_unmasked_caught: int  # ... matched by a no_mask/incorrect prediction
    n_unmasked_undetected: int  # ... matched by no prediction
    n_unmasked_called_mask: int  # ... matched by a `mask` prediction
    n_masked_detected: int  # GT mask faces matched by a prediction
    n_masked_false_alarm: int  # ... whose prediction is no_mask/incorrect
    n_false_detections: int  # predictions matching no face
    confusion: np.ndarray = field(repr=False)  # matched faces: rows GT class, columns predicted class
    # ... of the false detections, those touching no annotated face at all: on photos whose annotators left faces
    # out, mostly those faces
    n_false_detections_away: int = 0

    @property
    def unmasked_recall(self) -> float:
        return self.n_unmasked_caught / self.n_unmasked if self.n_unmasked else float("nan")

    @property
    def masked_false_alarm_rate(self) -> float:
        return self.n_masked_false_alarm / self.n_masked_detected if self.n_masked_detected else float("nan")

    @property
    def n_unmasked_missed(self) -> int:
        return self.n_unmasked - self.n_unmasked_caught

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "unmasked_recall": self.unmasked_recall,
            "masked_false_alarm_rate": self.masked_false_alarm_rate,
            "n_unmasked": self.n_unmasked,
            "n_unmasked_caught": self.n_unmasked_caught,
            "n_unmasked_missed": self.n_unmasked_missed,
            "n_unmasked_undetected": self.n_unmasked_undetected,
            "n_unmasked_called_mask": self.n_unmasked_called_mask,
            "n_masked_detected": self.n_masked_detected,
            "n_masked_false_alarm": self.n_masked_false_alarm,
            "n_false_detections": self.n_false_detections,
            "n_false_detections_away": self.n_false_detections_away,
        }


def match_one_to_one(
    gt_boxes: np.ndarray, pred_boxes: np.ndarray, pred_scores: np.ndarray, iou_threshold: float = IOU_THRESHOLD
) -> np.ndarray:
    """For each GT box the index of its prediction (-1 if none): greedy by score, each side used once."""
    owner = np.full(len(gt_boxes), -1, np.int64)
    if len(gt_boxes) == 0 or len(pred_boxes) == 0:
        return owner
    ious = box_iou(pred_boxes, gt_boxes)
    for i in np.argsort(-pred_scores, kind="stable"):
        free = np.where(owner < 0, ious[i], -1.0)
        j = int(free.argmax())
        if free[j] >= iou_threshold:
            owner[j] = i
    return owner


def compliance(
    annotations: list[ImageAnnotation],
    predictions: dict[str, ImagePredictions],
    threshold: float = 0.5,
    iou_threshold: float = IOU_THRESHOLD,
) -> ComplianceResult:
    index = {c: i for i, c in enumerate(CLASSES)}
    cm = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    unmasked = caught = undetected = called_mask = masked = false_alarm = false_det = away = 0
    for ann in annotations:
        pred = predictions.get(ann.name) or ImagePredictions.empty()
        keep = pred.scores >= threshold
        boxes, scores = pred.boxes[keep], pred.scores[keep]
        labels = [lab for lab, k in zip(pred.labels, keep, strict=True) if k]
        owner = match_one_to_one(ann.boxes, boxes, scores, iou_threshold)
        matched_preds = set(owner[owner >= 0].tolist())
        false_det += len(boxes) - len(matched_preds)
        touching = box_iou(boxes, ann.boxes).max(axis=1) > 0 if len(ann.boxes) else np.zeros(len(boxes), bool)
        away += int(np.sum(~touching))
        for j, (truth, hard) in enumerate(zip(ann.labels, ann.difficult, strict=True)):
            if hard:
                continue
            said = labels[owner[j]] if owner[j] >= 0 else None
            if said is not None:
                cm[index[truth], index[said]] += 1
            if truth in UNMASKED:
                unmasked += 1
                caught += said in UNMASKED
                undetected += said is None
                called_mask += said == "mask"
            elif said is not None:
                masked += 1
                false_alarm += said in UNMASKED
    return ComplianceResult(
        threshold, unmasked, caught, undetected, called_mask, masked, false_alarm, false_det, cm, away
    )
