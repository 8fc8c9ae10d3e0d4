"""`models compare` on the terminal: one side-by-side table per set, the paired test, subgroups, the verdict."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from maskwatch.core.labels import CLASSES

ROWS = (
    ("n", "faces / crops"),
    ("accuracy", "accuracy"),
    ("macro_f1", "macro F1"),
    ("unmasked_recall", "unmasked recall"),
    ("false_alarms", "false alarms (masked called unmasked)"),
    ("false_alarm_rate", "false-alarm rate"),
    ("map_mask_no_mask", "mAP mask/no_mask"),
    ("map_all", "mAP all classes"),
    ("face_ap", "face AP"),
)

DIFFERENCE_ROWS = (
    ("map_mask_no_mask", "mAP mask/no_mask"),
    ("ap_incorrect", "AP incorrect"),
    ("ap_face", "face AP"),
    ("unmasked_recall", "unmasked recall"),
    ("masked_false_alarm_rate", "false-alarm rate"),
)


def _fmt(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _delta(a: object, b: object) -> str:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        d = b - a
        if isinstance(d, float) and math.isnan(d):
            return ""
        return f"{d:+d}" if isinstance(d, int) else f"{d:+.4f}"
    return ""


def side_by_side(found: dict, a_name: str, b_name: str) -> Table:
    table = Table(title=f"{found['set']}: A = {a_name}, B = {b_name}")
    for column in ("", "A", "B", "B - A"):
        table.add_column(column, justify="left" if not column else "right")
    a, b = found["a"], found["b"]
    for key, title in ROWS:
        if key in a and key in b:
            table.add_row(title, _fmt(a[key]), _fmt(b[key]), _delta(a[key], b[key]))
    for cls in CLASSES:
        for figure in ("precision", "recall", "f1"):
            va, vb = a["per_class"][cls][figure], b["per_class"][cls][figure]
            table.add_row(f"{cls} {figure}", _fmt(va), _fmt(vb), _delta(va, vb))
    return table


def subgroup_table(found: dict) -> Table | None:
    if not found.get("subgroups"):
        return None
    table = Table(title=f"{found['set']}: per subgroup")
    for column in ("subgroup", "bin", "figure", "faces", "A", "B", "B - A"):
        table.add_column(column, justify="left" if column in ("subgroup", "bin", "figure") else "right", no_wrap=True)
    for d in found["subgroups"]:
        faces = str(d["faces_b"]) if d["faces_a"] == d["faces_b"] else f"{d['faces_a']}/{d['faces_b']}"
        table.add_row(d["subgroup"], d["bin"], d["figure"], faces, _fmt(d["a"]), _fmt(d["b"]), _delta(d["a"], d["b"]))
    return table


def _differences_line(found: dict) -> str:
    shown = []
    for key, title in DIFFERENCE_ROWS:
        if key in found["differences"]:
            d = found["differences"][key]
            shown.append(f"{title} {d['difference']:+.4f} ({d['ci95'][0]:+.4f} to {d['ci95'][1]:+.4f})")
    return f"{found['set']}, B - A with its 95 % interval over resampled photos: " + "; ".join(shown)


def print_comparison(result: dict, console: Console | None = None) -> None:
    console = console or Console()
    a_name, b_name = result["a"]["version"], result["b"]["version"]
    for found in result["sets"]:
        console.print(side_by_side(found, a_name, b_name))
        groups = subgroup_table(found)
        if groups is not None:
            console.print(groups)
        for warning in found.get("subgroup_warnings", []):
            console.print(f"[bold yellow]subgroup worse in B:[/] {warning}", soft_wrap=True)
        if found.get("differences"):
            console.print(_differences_line(found), soft_wrap=True)
        if "verdict" in found:
            console.print(f"{found['set']}: [bold]{found['verdict']}[/]")
            for reason in found["reasons"]:
                console.print(f"  {reason}")
    for note in result.get("notes", []):
        console.print(f"[bold yellow]note:[/] {note}", soft_wrap=True)
    console.print(f"\nverdict: [bold]{result['verdict']}[/] (B against A)")
    console.print(f"rule: {result['rule']}", soft_wrap=True)
