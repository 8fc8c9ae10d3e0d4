"""What `predict`, `classify` and `detect` tell the user: where results go (a JSON file or stdout), a short table of
faces per label, and one-line errors for outputs that do not fit their input, checked before any model loads."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES, DISPLAY
from maskwatch.core.media import IMAGE_EXTS, VIDEO_EXTS, is_video

OPERATING_SCORE = 0.5  # a face counts as its label from this score on (the operating point's bar)
IMAGE_OUTPUTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")  # what OpenCV writes
VIDEO_OUTPUTS = (".mp4", ".avi", ".mov", ".mkv", ".m4v")  # containers that take the MPEG-4 stream detect writes

stderr = Console(stderr=True, highlight=False)


def check_detect_paths(src: Path, dst: Path) -> None:
    """One image in → an image file out; one video in → a video file out; anything else a one-line error."""
    if src.is_dir():
        raise UserError(f"{src} is a folder: detect takes one image or one video (predict takes folders of images)")
    if not src.exists():
        raise UserError(f"{src}: no such file or directory")
    suffix = src.suffix.lower()
    if suffix not in IMAGE_EXTS and suffix not in VIDEO_EXTS:
        raise UserError(f"{src}: not an image or video file ({suffix or 'no extension'})")
    kind, allowed = ("a video", VIDEO_OUTPUTS) if is_video(src) else ("an image", IMAGE_OUTPUTS)
    if dst.suffix.lower() not in allowed:
        raise UserError(
            f"--out {dst}: {kind} in, so {kind} out: name it {', '.join(allowed[:3])}, ... "
            f"(not {dst.suffix or 'without an extension'})"
        )
    if dst.exists() and dst.is_dir():
        raise UserError(f"--out {dst} is a folder: name the file to write")


def check_json_output(out: Path) -> None:
    if str(out) != "-" and out.is_dir():
        raise UserError(f"-o {out} is a folder: name the JSON file to write (or - for the standard output)")


def write_json(results: dict, out: Path) -> None:
    """The results as JSON into `out`, or onto the standard output for `-`."""
    text = json.dumps(results, indent=1)
    if str(out) == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    except OSError as err:
        raise UserError(f"cannot write {out}: {err.strerror or err}") from None


def label_table(counts: dict[str, int], title: str, unit: str = "faces") -> None:
    """Counts per label as a short table on stderr (the standard output may carry the JSON)."""
    stderr.print(title, soft_wrap=True)
    table = Table(box=None, show_edge=False, pad_edge=True)
    table.add_column("label")
    table.add_column(unit, justify="right")
    for label in CLASSES:
        table.add_row(DISPLAY[label], str(counts.get(label, 0)))
    stderr.print(table)


def predicted_counts(results: dict, min_score: float = OPERATING_SCORE) -> dict[str, int]:
    """Faces per label at the operating point, from predict's {file: [{box, label, score}]}."""
    counts = dict.fromkeys(CLASSES, 0)
    for faces in results.values():
        for face in faces:
            if face["score"] >= min_score:
                counts[face["label"]] += 1
    return counts


def classified_counts(results: dict) -> dict[str, int]:
    counts = dict.fromkeys(CLASSES, 0)
    for entry in results.values():
        counts[entry["label"]] += 1
    return counts
