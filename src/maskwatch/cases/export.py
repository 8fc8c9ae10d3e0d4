"""`maskwatch cases export OUT`: the labelled crops as class folders (mask/, no_mask/, incorrect/, not_a_face/) and
cases.csv with where each came from, a layout `maskwatch data build` reads as one class-folder source.

`data build` maps folder names onto its classes; `not_a_face/` is no class, so it counts those crops as
`unknown_label` and leaves them out (they are exported for the detector's hard negatives, and so that a person
can check them). Exported crops leave the store unless kept.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from maskwatch.cases.store import CASE_LABELS, Case, CaseStore
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.events.times import iso

CSV_NAME = "cases.csv"
COLUMNS = [
    "file",
    "label",
    "camera",
    "zone",
    "time",
    "reason",
    "model_version",
    *(f"p_{c}" for c in CLASSES),
    "guess",
    "labelled_at",
    "case_id",
    "event_id",
]


@dataclass
class ExportSummary:
    out: Path
    per_label: dict[str, int] = field(default_factory=dict)
    removed: int = 0  # left the store

    @property
    def total(self) -> int:
        return sum(self.per_label.values())


def check_out_folder(out: Path) -> bool:
    """Whether `out` holds an earlier export (appended to). A folder with other things in it is refused."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: not a folder")
    if not out.exists() or not any(out.iterdir()):
        return False
    if not (out / CSV_NAME).is_file():
        raise UserError(f"{out}: not empty and no earlier export ({CSV_NAME}) in it: give a new or empty folder")
    header = (out / CSV_NAME).read_text(encoding="utf-8").split("\n", 1)[0].strip()
    if header != ",".join(COLUMNS):
        raise UserError(f"{out / CSV_NAME}: not a cases export of this version (its columns differ)")
    return True


def export_cases(store: CaseStore, out: Path, keep: bool = False, role: str = "cli") -> ExportSummary:
    """Copies every labelled crop to out/<label>/, appends their provenance to out/cases.csv, then removes them
    from the store (keep: they stay). The copies and the CSV are written before anything is removed."""
    out = Path(out)
    appending = check_out_folder(out)
    labelled = _all_labelled(store)
    summary = ExportSummary(out, dict.fromkeys(CASE_LABELS, 0))
    rows, done = [], []
    for case in labelled:
        source = store.crop_path(case)
        if source is None or case.label is None:
            continue  # its file went (retention) between the query and now
        target = out / case.label / f"{Path(case.file).stem}.jpg"
        done.append(case.id)
        if target.is_file():
            continue  # exported before (with --keep): not twice
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        rows.append(_row(case, target.relative_to(out).as_posix()))
        summary.per_label[case.label] += 1
    out.mkdir(parents=True, exist_ok=True)
    with (out / CSV_NAME).open("a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        if not appending:
            writer.writeheader()
        writer.writerows(rows)
    if not keep:
        summary.removed = store.remove(done)
    what = f"{summary.total} labelled crops to {out.resolve()} ({'kept' if keep else 'removed from the store'})"
    store.audit.write(role, "export", what)
    return summary


def _all_labelled(store: CaseStore) -> list[Case]:
    found: list[Case] = []
    while page := store.query(labelled=True, limit=1000, offset=len(found), oldest_first=True):
        found += page
    return found


def _row(case: Case, rel: str) -> dict:
    return {
        "file": rel,
        "label": case.label,
        "camera": case.camera,
        "zone": case.zone or "",
        "time": iso(case.time),
        "reason": case.reason,
        "model_version": case.model_version or "",
        **{f"p_{c}": case.probs.get(c, "") for c in CLASSES},
        "guess": case.guess,
        "labelled_at": iso(case.labelled_at) if case.labelled_at is not None else "",
        "case_id": case.id,
        "event_id": case.event_id if case.event_id is not None else "",
    }
