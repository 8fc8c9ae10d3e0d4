"""Classification metrics over CLASSES: accuracy, per-class P/R/F1, confusion, the compliance view, per source."""

from __future__ import annotations

import numpy as np

from maskwatch.core.labels import CLASSES, UNMASKED

UNMASKED_IDX = [CLASSES.index(c) for c in CLASSES if c in UNMASKED]


def confusion(labels: np.ndarray, preds: np.ndarray, k: int = len(CLASSES)) -> np.ndarray:
    """rows = true class, columns = predicted class."""
    return np.bincount(labels * k + preds, minlength=k * k).reshape(k, k)


def classification_report(labels: np.ndarray, preds: np.ndarray) -> dict:
    cm = confusion(labels, preds)
    tp = np.diag(cm).astype(float)
    precision = np.divide(tp, cm.sum(0), out=np.zeros_like(tp), where=cm.sum(0) > 0)
    recall = np.divide(tp, cm.sum(1), out=np.zeros_like(tp), where=cm.sum(1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    present = cm.sum(1) > 0
    flagged_true = np.isin(labels, UNMASKED_IDX)
    flagged_pred = np.isin(preds, UNMASKED_IDX)
    masked = ~flagged_true
    return {
        "n": len(labels),
        "accuracy": float((labels == preds).mean()) if len(labels) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "precision": dict(zip(CLASSES, precision.round(4).tolist(), strict=True)),
        "recall": dict(zip(CLASSES, recall.round(4).tolist(), strict=True)),
        "f1": dict(zip(CLASSES, f1.round(4).tolist(), strict=True)),
        "support": dict(zip(CLASSES, cm.sum(1).tolist(), strict=True)),
        "confusion": cm.tolist(),
        # The compliance system's view: a face is flagged when predicted no_mask or incorrect.
        "unmasked_flag_recall": float(flagged_pred[flagged_true].mean()) if flagged_true.any() else None,
        "masked_false_flag_rate": float(flagged_pred[masked].mean()) if masked.any() else None,
    }


def per_source_accuracy(labels: np.ndarray, preds: np.ndarray, sources: np.ndarray) -> dict[str, dict]:
    out = {}
    for source in sorted(set(sources.tolist())):
        sel = sources == source
        out[source] = {
            "n": int(sel.sum()),
            "accuracy": round(float((labels[sel] == preds[sel]).mean()), 4),
            "confusion": confusion(labels[sel], preds[sel]).tolist(),
        }
    return out
