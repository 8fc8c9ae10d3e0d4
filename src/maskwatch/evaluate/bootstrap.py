"""How far a photo set's figures could move on other photos like them: percentile intervals from resampling
whole images with replacement (the faces of one photo share its light, camera and annotator, so they are drawn
together), or whole clips of frames, whose people stay from frame to frame.

Each image is matched once (metrics.image_matches, metrics.compliance); a resample only reweights the images, so
a thousand rounds cost about as much as one scoring.
"""

from __future__ import annotations

import numpy as np

from maskwatch.core.labels import CLASSES
from maskwatch.data.voc_folder import ImageAnnotation
from maskwatch.evaluate.metrics import FACE, ImagePredictions, average_precision, compliance, image_matches

ROUNDS = 1000
LEVEL = 0.95


class _ClassTally:
    """One class's matched predictions of every image, ranked once; a round weighs each by its image's draws."""

    def __init__(self, label: str, annotations: list[ImageAnnotation], predictions: dict[str, ImagePredictions]):
        parts = [image_matches(label, ann, predictions.get(ann.name)) for ann in annotations]
        scores = np.concatenate([m.scores for m in parts])
        order = np.argsort(-scores, kind="stable")
        self.image = np.repeat(np.arange(len(parts)), [len(m.scores) for m in parts])[order]
        self.is_tp = np.concatenate([m.is_tp for m in parts])[order]
        self.n_gt = np.array([m.n_gt for m in parts], np.float64)

    def ap(self, draws: np.ndarray) -> float:
        n_gt = float(draws @ self.n_gt)
        if n_gt == 0:
            return float("nan")
        weight = draws[self.image]
        tp = np.cumsum(weight * self.is_tp)
        fp = np.cumsum(weight * ~self.is_tp)
        return average_precision(tp / n_gt, tp / np.maximum(tp + fp, 1))


def _compliance_counts(
    annotations: list[ImageAnnotation], predictions: dict[str, ImagePredictions], threshold: float
) -> np.ndarray:
    """Per image: unmasked faces, of them flagged, masked faces found, of them flagged (rows)."""
    counts = []
    for ann in annotations:
        c = compliance([ann], {ann.name: predictions.get(ann.name) or ImagePredictions.empty()}, threshold)
        counts.append((c.n_unmasked, c.n_unmasked_caught, c.n_masked_detected, c.n_masked_false_alarm))
    return np.array(counts, np.float64).reshape(-1, 4)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


class _Figures:
    """Every figure of one set of predictions, for any weighting of the images."""

    def __init__(
        self,
        annotations: list[ImageAnnotation],
        predictions: dict[str, ImagePredictions],
        primary: tuple[str, ...],
        threshold: float,
    ):
        self.primary = primary
        self.tallies = {c: _ClassTally(c, annotations, predictions) for c in (*CLASSES, FACE)}
        self.counts = _compliance_counts(annotations, predictions, threshold)

    def __call__(self, draws: np.ndarray) -> dict[str, float]:
        aps = {c: tally.ap(draws) for c, tally in self.tallies.items()}
        unmasked, caught, masked, flagged = draws @ self.counts
        return {
            "map_mask_no_mask": float(np.mean([aps[c] for c in self.primary])),
            **{f"ap_{c}": v for c, v in aps.items()},
            "unmasked_recall": _ratio(caught, unmasked),
            "masked_false_alarm_rate": _ratio(flagged, masked),
        }


def _resamples(n_images: int, rounds: int, seed: int, groups: list[str] | None = None) -> list[np.ndarray]:
    """Per round, how often each image is drawn: images one by one, or whole groups of them (the frames of one
    clip) where `groups` names each image's group."""
    names, of_image = np.unique(groups if groups is not None else np.arange(n_images), return_inverse=True)
    rng = np.random.default_rng(seed)
    return [
        np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))[of_image].astype(np.float64)
        for _ in range(rounds)
    ]


def _percentiles(samples: list[dict[str, float]]) -> dict[str, list[float]]:
    tail = (1 - LEVEL) / 2 * 100
    out = {}
    for name in samples[0]:
        values = np.array([s[name] for s in samples])
        if not np.all(np.isnan(values)):
            out[name] = [round(float(v), 4) for v in np.nanpercentile(values, [tail, 100 - tail])]
    return out


def bootstrap_intervals(
    annotations: list[ImageAnnotation],
    predictions: dict[str, ImagePredictions],
    primary: tuple[str, ...],
    threshold: float = 0.5,
    groups: list[str] | None = None,
    rounds: int = ROUNDS,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Central LEVEL intervals [low, high] of the mAP over `primary`, each class's AP, face AP, unmasked recall
    and masked false-alarm rate, over `rounds` resamples of the images, or of their `groups` (seeded: the same
    figures every run)."""
    if not annotations:
        return {}
    figures = _Figures(annotations, predictions, primary, threshold)
    return _percentiles([figures(draws) for draws in _resamples(len(annotations), rounds, seed, groups)])


def ratio_interval(
    numerators: list[float], denominators: list[float], groups: list[str], rounds: int = ROUNDS, seed: int = 0
) -> list[float] | None:
    """The LEVEL interval of sum(numerators) / sum(denominators) over resamples of whole `groups` (one per item:
    a recall counted frame by frame, resampled by clip); None where nothing is counted."""
    if not sum(denominators):
        return None
    names, of_item = np.unique(groups, return_inverse=True)
    num = np.bincount(of_item, weights=numerators, minlength=len(names))
    den = np.bincount(of_item, weights=denominators, minlength=len(names))
    ratios = [
        {"ratio": _ratio(float(draws @ num), float(draws @ den))} for draws in _resamples(len(names), rounds, seed)
    ]
    return _percentiles(ratios).get("ratio")


def paired_differences(
    annotations: list[ImageAnnotation],
    predictions_a: dict[str, ImagePredictions],
    predictions_b: dict[str, ImagePredictions],
    primary: tuple[str, ...],
    threshold: float = 0.5,
    rounds: int = ROUNDS,
    seed: int = 0,
) -> dict[str, dict]:
    """Each figure's difference B - A on the same photos, with its LEVEL interval from resampling the photos for
    both at once (a photo hard for A is mostly hard for B too, so the paired interval is the narrower one)."""
    if not annotations:
        return {}
    fig_a = _Figures(annotations, predictions_a, primary, threshold)
    fig_b = _Figures(annotations, predictions_b, primary, threshold)

    def difference(draws: np.ndarray) -> dict[str, float]:
        a, b = fig_a(draws), fig_b(draws)
        return {name: b[name] - a[name] for name in a}

    point = difference(np.ones(len(annotations)))
    intervals = _percentiles([difference(draws) for draws in _resamples(len(annotations), rounds, seed)])
    return {name: {"difference": round(point[name], 4), "ci95": ci} for name, ci in intervals.items()}
