"""Writing results (metrics.json, confusion.png, pr_curves.png) and printing them as tables."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import fields
from pathlib import Path

from rich.console import Console
from rich.table import Table

from maskwatch.core.labels import CLASSES
from maskwatch.evaluate.crops import CropResult, Mistake
from maskwatch.evaluate.metrics import FACE
from maskwatch.evaluate.plots import mistakes_sheet, plot_confusion, plot_pr_curves, plot_subgroup
from maskwatch.evaluate.voc import VocResult


def _json_safe(value: object) -> object:
    """NaN (an undefined metric) becomes null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_report(result: VocResult | CropResult, out_dir: Path, predictions: dict | None = None) -> list[Path]:
    """metrics.json, confusion.png and pr_curves.png in out_dir; predictions.json when given; for crops with known
    paths, mistakes.csv and mistakes.jpg (the misclassified crops, to read one by one)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = out_dir / "metrics.json"
    metrics.write_text(json.dumps(_json_safe(result.to_dict()), indent=1))
    written = [metrics]
    if isinstance(result, VocResult):
        t = result.compliance.threshold
        written.append(
            plot_confusion(
                result.compliance.confusion, CLASSES, out_dir / "confusion.png", f"Matched faces, score >= {t:g}"
            )
        )
        written.append(
            plot_pr_curves(
                [result.curves[c] for c in (*CLASSES, FACE)],
                out_dir / "pr_curves.png",
                "Detection precision / recall (IoU 0.5)",
            )
        )
    else:
        written.append(
            plot_confusion(result.classification.confusion, CLASSES, out_dir / "confusion.png", "Face crops (val)")
        )
        written.append(
            plot_pr_curves(list(result.curves.values()), out_dir / "pr_curves.png", "Face crops, one class vs the rest")
        )
        if result.mistakes:
            written.append(_write_mistakes(result.mistakes, out_dir / "mistakes.csv"))
            written.append(mistakes_sheet(result.mistakes, out_dir / "mistakes.jpg"))
    for name, bins in result.subgroups.get("subgroups", {}).items():
        if bins:
            written.append(plot_subgroup(name, bins, out_dir / f"subgroup_{name}.png"))
    if predictions is not None:
        path = out_dir / "predictions.json"
        path.write_text(json.dumps(predictions, indent=1))
        written.append(path)
    return written


def _write_mistakes(mistakes: list[Mistake], path: Path) -> Path:
    with path.open("w", newline="") as f:
        columns = [fl.name for fl in fields(Mistake) if fl.name != "crop"]
        writer = csv.DictWriter(f, ["row", *columns])
        writer.writeheader()
        writer.writerows(
            {"row": k, **{c: getattr(m, c) for c in columns}, "probability": round(m.probability, 4)}
            for k, m in enumerate(mistakes)
        )
    return path


def _f(value: float | None, pct: bool = False) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.1%}" if pct else f"{value:.3f}"


def print_result(result: VocResult | CropResult, console: Console | None = None) -> None:
    console = console or Console()
    if isinstance(result, VocResult):
        _print_voc(result, console)
    else:
        _print_crops(result, console)


def _interval(r: VocResult, name: str, pct: bool = False) -> str:
    low, high = r.intervals.get(name, (math.nan, math.nan))
    return "" if math.isnan(low) else f"{_f(low, pct)}-{_f(high, pct)}"


def _print_voc(r: VocResult, console: Console) -> None:
    table = Table(title=f"Detection on {r.n_images} images (AP @ IoU 0.5)")
    for col in ("class", "faces", "predictions", "AP", "95 % interval"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for c in (*CLASSES, FACE):
        curve = r.curves[c]
        table.add_row(c, str(curve.n_gt), str(curve.n_pred), _f(curve.ap), _interval(r, f"ap_{c}"))
    table.add_row("mAP mask,no_mask", "", "", _f(r.map_primary), _interval(r, "map_mask_no_mask"), style="bold")
    table.add_row("mAP all three", "", "", _f(r.map_all), "", style="bold")
    console.print(table)
    rates = r.compliance
    comp = Table(title=f"Compliance at score >= {rates.threshold:g}")
    for col in ("measure", "value", "95 % interval"):
        comp.add_column(col, justify="left" if col == "measure" else "right")
    comp.add_row(
        "unmasked recall",
        f"{_f(rates.unmasked_recall, True)} ({rates.n_unmasked_caught}/{rates.n_unmasked})",
        _interval(r, "unmasked_recall", True),
    )
    comp.add_row("unmasked missed: not detected", str(rates.n_unmasked_undetected), "")
    comp.add_row("unmasked missed: called mask", str(rates.n_unmasked_called_mask), "")
    comp.add_row(
        "masked false-alarm rate",
        f"{_f(rates.masked_false_alarm_rate, True)} ({rates.n_masked_false_alarm}/{rates.n_masked_detected})",
        _interval(r, "masked_false_alarm_rate", True),
    )
    comp.add_row("detections matching no face", str(rates.n_false_detections), "")
    comp.add_row("  of them touching no annotated face", str(rates.n_false_detections_away), "")
    console.print(comp)
    if r.intervals:
        console.print("95 % interval: where the figure falls on 95 % of resamples of these photos (bootstrap)")
    _print_labels_as_annotated(r.labels_as_annotated, console)
    _print_subgroups(r.subgroups, console)
    _print_notes(r.notes, console)


def _print_labels_as_annotated(oracle: dict, console: Console) -> None:
    """What the classifier's labels cost: the figures with every box on an annotated face given that face's label."""
    if not oracle:
        return
    console.print(
        f"labels as annotated (every box on an annotated face, IoU >= 0.5, given its label; scores kept): "
        f"mAP mask,no_mask {_f(oracle['map_mask_no_mask'])}, AP incorrect {_f(oracle['ap']['incorrect'])}, "
        f"unmasked recall {_f(oracle['unmasked_recall'], True)}: the gap to the figures above is what the labels cost"
    )


def _print_notes(notes: list[str], console: Console) -> None:
    for note in notes:
        console.print(f"[yellow]note:[/] {note}")


def _print_accuracy(console: Console, title: str, first: str, groups: dict[str, dict]) -> None:
    table = Table(title=title)
    table.add_column(first)
    table.add_column("crops", justify="right")
    table.add_column("accuracy", justify="right")
    for name, v in groups.items():
        table.add_row(name, str(v["n"]), _f(v["accuracy"], True))
    console.print(table)


def _print_crops(r: CropResult, console: Console) -> None:
    cls = r.classification
    table = Table(
        title=f"Classifier on {r.n_crops} crops: accuracy {_f(cls.accuracy, True)}, macro F1 {_f(cls.macro_f1)}"
    )
    for col in ("class", "support", "precision", "recall", "F1", "AP"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for c in cls.classes:
        table.add_row(
            c, str(cls.support[c]), _f(cls.precision[c]), _f(cls.recall[c]), _f(cls.f1[c]), _f(r.curves[c].ap)
        )
    console.print(table)
    _print_accuracy(console, "Accuracy per source", "source", r.per_source)
    if r.per_face_px:
        _print_accuracy(console, "Accuracy by face size (long side in the source image, px)", "face px", r.per_face_px)
    if r.per_brightness:
        _print_accuracy(console, "Accuracy by lighting (the crop's mean grey, 0..255)", "brightness", r.per_brightness)
    _print_subgroups(r.subgroups, console)
    _print_notes(r.notes, console)


def _print_subgroups(report: dict, console: Console) -> None:
    """Every subgroup bin's figures, then the worst bin of each figure against the overall one."""
    if not report.get("subgroups"):
        return
    table = Table(
        title="Per subgroup (bias audit)",
        caption="found: face recall; unmasked: unmasked recall; false alarm: masked faces flagged",
    )
    columns = ("face_recall", "unmasked_recall", "mask_false_alarm", "accuracy")
    table.add_column("subgroup", no_wrap=True)
    table.add_column("bin", no_wrap=True)
    for col in ("faces", "found", "unmasked", "false alarm", "accuracy"):
        table.add_column(col, justify="right")
    for group, bins in report["subgroups"].items():
        for b in bins:
            table.add_row(group, b["bin"], str(b["faces"]), *(_f(b[c], True) for c in columns))
    overall = report["subgroup_overall"]
    table.add_row("all", "", str(overall["faces"]), *(_f(overall[c], True) for c in columns), style="bold")
    console.print(table)
    for w in report.get("subgroup_worst", []):
        console.print(
            f"worst {w['figure'].replace('_', ' ')}: {w['subgroup']}={w['bin']} {_f(w['value'], True)} "
            f"(n={w['n']}) against {_f(w['overall'], True)} overall"
        )
