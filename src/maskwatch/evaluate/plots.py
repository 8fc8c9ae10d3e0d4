"""Confusion-matrix and precision/recall figures (matplotlib, imported only when a figure is drawn), and the
contact sheet of misclassified crops (OpenCV)."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.evaluate.metrics import PRCurve

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _pyplot() -> ModuleType:
    try:
        import matplotlib as mpl
    except ImportError:
        raise UserError("plots need matplotlib: pip install 'maskwatch[plots]'") from None
    mpl.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(plt: ModuleType, fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion(
    confusion: np.ndarray, classes: tuple[str, ...] | list[str], path: Path, title: str = "Confusion matrix"
) -> Path:
    """Counts with row-normalised shading (rows: true class, columns: predicted class)."""
    plt = _pyplot()
    cm = np.asarray(confusion)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.6 * len(classes) + 2, 1.4 * len(classes) + 1.5))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                f"{cm[i, j]}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _save(plt, fig, path)


def plot_pr_curves(curves: list[PRCurve], path: Path, title: str = "Precision / recall") -> Path:
    """One step curve per class, AP in the legend; classes without ground truth are left out."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    for curve in curves:
        if math.isnan(curve.ap):
            continue
        recall = np.concatenate([[0.0], curve.recall])
        precision = np.concatenate([[1.0], curve.precision]) if len(curve.precision) else np.array([1.0])
        ax.step(recall, precision, where="post", label=f"{curve.label} (AP {curve.ap:.3f}, n={curve.n_gt})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left")
    return _save(plt, fig, path)


SHEET_MAX_TILES = 480


def mistakes_sheet(mistakes: list, path: Path, tile: int = 160, columns: int = 8) -> Path:
    """Misclassified crops side by side for reading, each captioned '#row T:<true> P:<predicted> <p>' where row is
    the crop's line in mistakes.csv; at most SHEET_MAX_TILES tiles. Drawn with OpenCV (no matplotlib needed)."""
    import cv2

    from maskwatch.core.media import read_image

    short = {"mask": "M", "no_mask": "N", "incorrect": "I"}
    tiles = []
    for k, m in enumerate(mistakes[:SHEET_MAX_TILES]):
        try:
            pixels = m.crop if m.crop is not None else read_image(Path(m.path))
            crop = cv2.resize(pixels, (tile, tile), interpolation=cv2.INTER_CUBIC)
        except UserError:
            crop = np.full((tile, tile, 3), 128, np.uint8)
        caption = f"#{k} T:{short.get(m.label, m.label)} P:{short.get(m.predicted, m.predicted)} {m.probability:.2f}"
        band = np.full((22, tile, 3), 255, np.uint8)
        cv2.putText(band, caption, (3, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.vstack([band, crop]))
    if not tiles:
        raise UserError("no mistakes to draw")
    tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % columns)
    sheet = np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


SUBGROUP_FIGURES = ("face_recall", "unmasked_recall", "accuracy", "mask_false_alarm")


def plot_subgroup(name: str, bins: list[dict], path: Path) -> Path:
    """Grouped bars: each figure of evaluate.subgroups per bin (the bin's face count under its name); figures that
    are undefined in a bin (no unmasked face, say) are left out."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(bins) + 2), 4))
    width = 0.8 / len(SUBGROUP_FIGURES)
    for k, figure in enumerate(SUBGROUP_FIGURES):
        values = [b.get(figure) for b in bins]
        heights = [v if v is not None and math.isfinite(v) else 0.0 for v in values]
        positions = np.arange(len(bins)) + (k - (len(SUBGROUP_FIGURES) - 1) / 2) * width
        bars = ax.bar(positions, heights, width, label=figure.replace("_", " "))
        for bar, v in zip(bars, values, strict=True):
            if v is None or not math.isfinite(v):
                bar.set_visible(False)
    ax.set_xticks(range(len(bins)), [f"{b['bin']}\n{b['faces']} faces" for b in bins])
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Per {name.replace('_', ' ')}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return _save(plt, fig, path)
