"""Dataset report: counts, face-size and brightness histograms, subgroup coverage tables, and how often a face
labelled twice got two different labels."""

from __future__ import annotations

import csv
import itertools
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.data.agreement import FacePair, agreement_summary, faces_labelled_twice
from maskwatch.data.manifest import MANIFEST_COLUMNS, ManifestRow, read_manifest

if TYPE_CHECKING:
    from rich.console import Console

FACE_PX_BUCKETS = (0, 24, 48, 96, 192, float("inf"))
BRIGHTNESS_BUCKETS = (0, 60, 120, 180, 256)


def bucket_names(edges: Sequence[float]) -> list[str]:
    return [f"{lo:g}-{hi:g}" if hi != float("inf") else f">={lo:g}" for lo, hi in itertools.pairwise(edges)]


def bucket_index(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Index of each value's bucket between consecutive edges (lower bound inclusive)."""
    return np.clip(np.searchsorted(np.asarray(edges[1:-1], float), values, side="right"), 0, len(edges) - 2)


def coverage(values: np.ndarray, labels: np.ndarray, edges: Sequence[float]) -> dict[str, dict[str, int]]:
    """{bucket: {class: count}} for values cut at edges (lower bound inclusive)."""
    names = bucket_names(edges)
    idx = bucket_index(values, edges)
    return {name: {c: int(((idx == b) & (labels == c)).sum()) for c in CLASSES} for b, name in enumerate(names)}


def _crosstab(rows: list[ManifestRow], key: str) -> dict[str, dict[str, int]]:
    table: dict[str, Counter] = {}
    for row in rows:
        table.setdefault(getattr(row, key), Counter())[row.label] += 1
    return {k: {c: table[k][c] for c in CLASSES} for k in sorted(table)}


def build_report(directory: Path, plots: bool = True) -> dict:
    """Write DIR/report/report.json (and PNG histograms when plots) for the crop dataset in DIR; returns the dict."""
    directory = Path(directory)
    rows = read_manifest(directory, MANIFEST_COLUMNS)
    labels = np.array([r.label for r in rows])
    face_px = np.array([r.face_px for r in rows])
    brightness = np.array([r.brightness for r in rows])
    report = {
        "crops": len(rows),
        "per_class": {c: int((labels == c).sum()) for c in CLASSES},
        "per_source": _crosstab(rows, "source"),
        "per_split": _crosstab(rows, "split"),
        "per_source_split": {
            s: _crosstab([r for r in rows if r.source == s], "split") for s in sorted({r.source for r in rows})
        },
        "groups": len({r.group for r in rows}),
        "face_px_coverage": coverage(face_px, labels, FACE_PX_BUCKETS),
        "brightness_coverage": coverage(brightness, labels, BRIGHTNESS_BUCKETS),
    }
    cleaning = directory / "cleaning.json"
    if cleaning.is_file():
        report["dropped"] = json.loads(cleaning.read_text())
    out = directory / "report"
    out.mkdir(parents=True, exist_ok=True)
    twice = faces_labelled_twice(directory, rows)
    report["labelled_twice"] = agreement_summary(twice)
    _write_conflicts([p for p in twice if not p.agree], out / "label_conflicts.csv")
    if plots:
        report["plots"] = _plots(out, labels, face_px, brightness)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def _write_conflicts(conflicts: list[FacePair], path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["group", "bits", "crop_a", "label_a", "image_a", "crop_b", "label_b", "image_b"])
        for p in conflicts:
            writer.writerow([p.a.group, p.bits, p.a.path, p.a.label, p.a.image, p.b.path, p.b.label, p.b.image])


def _plots(out: Path, labels: np.ndarray, face_px: np.ndarray, brightness: np.ndarray) -> list[str]:
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UserError("the data report needs matplotlib: pip install 'maskwatch[plots]'") from exc
    written = []
    for name, values, bins, log in (
        ("face_px", face_px, np.geomspace(8, max(face_px.max(), 16) + 1, 40), True),
        ("brightness", brightness, np.linspace(0, 255, 52), False),
    ):
        fig, ax = plt.subplots(figsize=(7, 4))
        for c in CLASSES:
            if (labels == c).any():
                ax.hist(
                    values[labels == c],
                    bins=bins.tolist(),
                    histtype="step",
                    linewidth=1.5,
                    label=f"{c} ({(labels == c).sum()})",
                )
        if log:
            ax.set_xscale("log")
        ax.set_xlabel("face box long side (source px)" if name == "face_px" else "mean grey level of the crop")
        ax.set_ylabel("crops")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"{name}_hist.png", dpi=100)
        plt.close(fig)
        written.append(f"{name}_hist.png")
    return written


def print_report(report: dict, console: Console | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()

    def table(title: str, data: dict[str, dict[str, int]], first: str) -> None:
        t = Table(title=title)
        t.add_column(first)
        for c in CLASSES:
            t.add_column(c, justify="right")
        t.add_column("total", justify="right")
        for key, counts in data.items():
            t.add_row(key, *(str(counts.get(c, 0)) for c in CLASSES), str(sum(counts.values())))
        console.print(t)

    console.print(f"{report['crops']} crops in {report['groups']} groups")
    table("per source", report["per_source"], "source")
    table("per split", report["per_split"], "split")
    table("face size (source px, long side) x class", report["face_px_coverage"], "face px")
    table("brightness (crop mean grey) x class", report["brightness_coverage"], "brightness")
    twice = report["labelled_twice"]
    if twice:
        t = Table(title="faces labelled twice (in two near-duplicate photos): labels differ / pairs")
        t.add_column("sources")
        t.add_column("differ", justify="right")
        t.add_column("pairs", justify="right")
        t.add_column("share", justify="right")
        for key, (differ, n) in twice.items():
            t.add_row(key, str(differ), str(n), f"{differ / n:.1%}")
        console.print(t)
    if "dropped" in report:
        t = Table(title="dropped")
        t.add_column("source")
        t.add_column("reasons")
        for src, reasons in report["dropped"].items():
            t.add_row(src, ", ".join(f"{k} {v}" for k, v in reasons.items() if v) or "-")
        console.print(t)
