"""Evaluation: detection AP, classifier metrics and the compliance view."""

from maskwatch.evaluate.crops import CropResult, evaluate_crops, score_crop_predictions
from maskwatch.evaluate.metrics import (
    ClassificationResult,
    ComplianceResult,
    ImageAnnotation,
    ImagePredictions,
    PRCurve,
    average_precision,
    classification_metrics,
    compliance,
    confusion_matrix,
    mean_ap,
    pr_curve,
)
from maskwatch.evaluate.voc import VocResult, evaluate_voc, load_annotations, read_voc_folder, score_predictions

__all__ = [
    "ClassificationResult",
    "ComplianceResult",
    "CropResult",
    "ImageAnnotation",
    "ImagePredictions",
    "PRCurve",
    "VocResult",
    "average_precision",
    "classification_metrics",
    "compliance",
    "confusion_matrix",
    "evaluate_crops",
    "evaluate_voc",
    "load_annotations",
    "mean_ap",
    "pr_curve",
    "read_voc_folder",
    "score_crop_predictions",
    "score_predictions",
]
