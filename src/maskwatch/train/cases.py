"""Labelled cases from the service in training: a `maskwatch cases export` folder (class folders + cases.csv) built
with the shared data (`maskwatch data build ../shared/data CASES_DIR`) is a source of its own, named after its
folder; `train --cases-repeat K` shows its crops K times per epoch (as `--repeat-source NAME=K` would)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from maskwatch.core.errors import UserError
from maskwatch.data.manifest import ManifestRow

CASES_FILE = "cases.csv"  # what marks a cases export: the class folders' parent holds it


def parse_repeats(items: Sequence[str]) -> dict[str, int]:
    """--repeat-source SOURCE=K options as {source: K}."""
    repeat = {}
    for item in items:
        name, _, k = item.partition("=")
        if not name or not k.isdigit() or int(k) < 1:
            raise UserError(f"--repeat-source takes SOURCE=K with K a whole number >= 1, got {item!r}")
        repeat[name] = int(k)
    return repeat


def case_sources(rows: Sequence[ManifestRow]) -> set[str]:
    """The sources whose photos lie in a cases export (a class folder whose parent holds cases.csv)."""
    first_image: dict[str, str] = {}
    for row in rows:
        first_image.setdefault(row.source, row.image)
    return {s for s, image in first_image.items() if image and (Path(image).parent.parent / CASES_FILE).is_file()}


def resolve_repeats(rows: Sequence[ManifestRow], repeat: dict[str, int], cases_repeat: int = 1) -> dict[str, int]:
    """--repeat-source checked against the dataset's sources, with --cases-repeat applied to the cases sources
    (a source named in --repeat-source keeps its own K)."""
    known = {r.source for r in rows}
    unknown = sorted(set(repeat) - known)
    if unknown:
        raise UserError(
            f"--repeat-source: no source {', '.join(unknown)} in the dataset (it has {', '.join(sorted(known))})"
        )
    if cases_repeat < 1:
        raise UserError(f"--cases-repeat must be a whole number >= 1, got {cases_repeat}")
    if cases_repeat == 1:
        return dict(repeat)
    cases = case_sources(rows)
    if not cases:
        raise UserError(
            "--cases-repeat: no source of the dataset is a cases export (class folders beside a cases.csv); "
            "build the dataset with the export folder as one of its sources"
        )
    return {**dict.fromkeys(sorted(cases), cases_repeat), **repeat}
