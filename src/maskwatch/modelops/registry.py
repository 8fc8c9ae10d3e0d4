"""The service's promoted classifiers: a folder beside the event database (`<storage.database's folder>/models`)
holding the promoted ONNX files (as `<version>/<file name>`) and `history.json`:

    {"active": {"file", "version", "promoted_at", "source"} | null,   # null: the shipped (or configured) model
     "previous": [entry | null, ...]}                                  # what `rollback` returns to, newest last

The service reads the history at start and watches its modification time while it runs (service.models), so a
promotion or rollback applies to the next frames without a restart. The shipped model is never copied or removed:
it is what `active: null` means, so a rollback can always reach it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from maskwatch.core.errors import UserError

HISTORY = "history.json"


@dataclass(frozen=True)
class Entry:
    file: str  # within the models folder
    version: str  # MaskClassifier.version
    promoted_at: float
    source: str  # the path it was promoted from

    def to_json(self) -> dict:
        return {"file": self.file, "version": self.version, "promoted_at": self.promoted_at, "source": self.source}


@dataclass
class History:
    active: Entry | None
    previous: list[Entry | None]


def models_folder(database: Path) -> Path:
    return Path(database).parent / "models"


def read_history(folder: Path) -> History:
    path = folder / HISTORY
    if not path.is_file():
        return History(None, [])
    try:
        raw = json.loads(path.read_text())
        active = Entry(**raw["active"]) if raw.get("active") else None
        previous = [Entry(**e) if e else None for e in raw.get("previous", [])]
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{path}: not a model history ({err})") from None
    return History(active, previous)


def write_history(folder: Path, history: History) -> None:
    """Atomically (a rename), so a service reading it never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{HISTORY}.{os.getpid()}"
    data = {
        "active": history.active.to_json() if history.active else None,
        "previous": [e.to_json() if e else None for e in history.previous],
    }
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(folder / HISTORY)


def active_path(folder: Path) -> Path | None:
    """The promoted classifier's file; None: the shipped (or configured) one."""
    active = read_history(folder).active
    return folder / active.file if active else None


def promote(model: Path, folder: Path) -> Entry:
    """Validates `model` (it must load as a mask classifier), copies it into `folder` under its version and makes it
    the active classifier; the one active before goes onto the rollback list."""
    from maskwatch.classify.classifier import MaskClassifier

    model = Path(model)
    version = MaskClassifier(model).version  # UserError where it is missing or not a mask classifier
    history = read_history(folder)
    if history.active and history.active.version == version:
        raise UserError(f"{version} is already the active classifier")
    # <version>/<its own file name>: the stem is part of the version, so the copy keeps the version it was compared as
    name = f"{version}/{model.stem}.onnx"
    if not (folder / name).is_file():
        (folder / version).mkdir(parents=True, exist_ok=True)
        tmp = folder / version / f".{model.stem}.{os.getpid()}"
        shutil.copyfile(model, tmp)
        tmp.replace(folder / name)
    entry = Entry(name, version, round(time.time(), 3), str(model.resolve()))
    write_history(folder, History(entry, [*history.previous, history.active]))
    return entry


def rollback(folder: Path) -> Entry | None:
    """Makes the classifier active before the current one active again; returns it (None: the shipped one)."""
    history = read_history(folder)
    if history.active is None and not history.previous:
        raise UserError("the shipped classifier is active already: nothing to roll back to")
    back = history.previous[-1] if history.previous else None
    write_history(folder, History(back, history.previous[:-1]))
    return back


def listing(folder: Path, shipped_version: str) -> list[dict]:
    """The shipped model, then every promoted file in the folder, oldest first, with which is active."""
    history = read_history(folder)
    active = history.active.version if history.active else shipped_version
    rows = [{"version": shipped_version, "file": "(shipped)", "active": active == shipped_version}]
    seen = {shipped_version}
    known = [e for e in [*history.previous, history.active] if e is not None]
    for entry in sorted(known, key=lambda e: e.promoted_at):
        if entry.version not in seen:
            seen.add(entry.version)
            rows.append({"version": entry.version, "file": entry.file, "active": entry.version == active})
    return rows
