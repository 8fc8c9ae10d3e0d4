"""Snapshot JPEGs of alerts, with faces hidden, and the retention job that deletes old events and their files."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.draw import mark_offenders, offender_text
from maskwatch.events.store import EventStore
from maskwatch.privacy import MARGIN, blur_faces

log = logging.getLogger(__name__)


class SnapshotWriter:
    def __init__(self, folder: Path, quality: int = 85, method: str = "pixelate", show_offender: bool = False):
        self.folder = Path(folder)
        self.quality, self.method, self.show_offender = quality, method, show_offender

    def write(
        self,
        image: np.ndarray,
        boxes: np.ndarray,
        offender: int,
        camera: str,
        track_id: int,
        ts: float,
        label: str | None = None,
        confidence: float | None = None,
    ) -> str:
        """Writes the frame with faces hidden; returns the path relative to the snapshot folder."""
        return self.save(self.encode(image, boxes, offender, label, confidence), camera, track_id, ts)

    def encode(
        self,
        image: np.ndarray,
        boxes: np.ndarray,
        offender: int,
        label: str | None = None,
        confidence: float | None = None,
    ) -> bytes:
        """The frame with faces hidden, as JPEG; with the alert's `label`, its face (the `offender`-th box) is
        outlined and labelled and the others are dimmed, so that a reviewer sees whom the alert is about."""
        keep = offender if self.show_offender else None
        hidden = blur_faces(image, boxes, method=self.method, keep=keep)
        if label is not None and 0 <= offender < len(boxes):
            mark_offenders(hidden, boxes, {offender: (label, offender_text(label, confidence))}, MARGIN)
        ok, data = cv2.imencode(".jpg", hidden, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return data.tobytes()

    def save(self, jpeg: bytes, camera: str, track_id: int, ts: float) -> str:
        """Stores an encoded snapshot; returns the path relative to the snapshot folder."""
        day = datetime.fromtimestamp(ts, UTC)
        rel = (
            Path(camera)
            / day.strftime("%Y-%m-%d")
            / f"{day.strftime('%H%M%S')}_{int(ts * 1000) % 1000:03d}_t{track_id}.jpg"
        )
        write_atomic(self.folder / rel, jpeg)
        return rel.as_posix()

    def resolve(self, rel: str | None) -> Path | None:
        return resolve_in(self.folder, rel)


def write_atomic(path: Path, data: bytes) -> None:
    """A reader never sees the file half written; a write that fails (disk full) leaves no partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # retention sweeps what is left (stray *.part files)
            tmp.unlink(missing_ok=True)
        raise


def resolve_in(folder: Path, rel: str | None) -> Path | None:
    """An existing file named relative to `folder`, never one outside it."""
    if not rel:
        return None
    path = (Path(folder) / rel).resolve()
    if Path(folder).resolve() not in path.parents:
        return None
    return path if path.is_file() else None


PATTERNS = {"snapshot": "*.jpg", "clip": "*.webm"}  # the files of each MEDIA column
STRAY_PART_SECONDS = 600.0  # a partial file (*.part) this old is no write in progress: a crash or a full disk left it


@dataclass(frozen=True)
class Retention:
    """How many days each kind of record is kept."""

    days: float  # events
    snapshot_days: float | None = None  # their snapshots, when sooner than the events (the event rows stay)
    count_days: float | None = None  # the hourly people counts; None: as the events
    clip_days: float | None = None  # their clips; None: as the snapshots


def apply_retention(
    store: EventStore, snapshots: Path, retention: Retention, now: float | None = None, clips: Path | None = None
) -> int:
    """Deletes events past `retention.days` with their files, snapshots and clips past their own days (their events
    stay, without them), and the people counts past `retention.count_days`; returns how many events went."""
    now = now or time.time()
    cutoff = now - retention.days * 86400
    snapshot_days = retention.snapshot_days or retention.days
    media = {"snapshot": (Path(snapshots), PATTERNS["snapshot"], snapshot_days)}
    if clips is not None:
        media["clip"] = (Path(clips), PATTERNS["clip"], retention.clip_days or snapshot_days)
    deleted, gone = store.delete_before(cutoff, now - (retention.count_days or retention.days) * 86400)
    if deleted:
        log.info("retention: deleted %d event(s) older than %.1f days", deleted, retention.days)
    for column, (folder, pattern, days) in media.items():
        media_cutoff = max(cutoff, now - days * 86400)
        cleared = store.clear_media_before(column, media_cutoff)
        for rel in gone[column] + cleared:
            try:
                (folder / rel).unlink(missing_ok=True)
            except OSError as err:
                log.warning("retention: cannot delete %s: %s", rel, err)
        _sweep(folder, pattern, media_cutoff)
        _sweep(folder, "*.part", now - STRAY_PART_SECONDS)
        if cleared:
            log.info("retention: deleted %d %s file(s) older than %.1f days", len(cleared), column, days)
    return deleted


def _sweep(folder: Path, pattern: str, cutoff: float) -> None:
    """Files the database no longer knows (a crash between write and insert) go by their age, then empty folders."""
    if not folder.is_dir():
        return
    for mtime, _, path in _files(folder, pattern):
        try:
            if mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            pass
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            sub.rmdir()  # only succeeds when empty


def media_usage(folders: dict[str, Path]) -> dict[str, int]:
    """Bytes of snapshot and clip files per MEDIA column."""
    return {column: sum(size for _, size, _ in _files(folder, PATTERNS[column])) for column, folder in folders.items()}


def enforce_quota(store: EventStore, folders: dict[str, Path], max_bytes: float) -> int:
    """Past `max_bytes` of snapshots and clips together, deletes the oldest files (by when they were written) until
    they fill 90 % of it; their events stay, without them. Returns how many files went."""
    files = [
        (mtime, size, column, folder, path)
        for column, folder in folders.items()
        for mtime, size, path in _files(folder, PATTERNS[column])
    ]
    total = sum(f[1] for f in files)
    if total <= max_bytes:
        return 0
    deleted = 0
    for _, size, column, folder, path in sorted(files, key=lambda f: f[0]):
        if total <= 0.9 * max_bytes:  # some room, so that the next file written does not start this again
            break
        store.forget_media(column, path.relative_to(folder).as_posix())  # first: never name a file that is gone
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            log.warning("storage: cannot delete %s: %s", path, err)
            continue
        total, deleted = total - size, deleted + 1
    log.warning(
        "storage: deleted the %d oldest snapshot and clip file(s) to stay under storage.max_media_mb (%.0f MB)",
        deleted,
        max_bytes / 1e6,
    )
    return deleted


def _files(folder: Path, pattern: str) -> list[tuple[float, int, Path]]:
    out = []
    if Path(folder).is_dir():
        for path in Path(folder).rglob(pattern):
            try:
                st = path.stat()
            except OSError:  # deleted meanwhile
                continue
            out.append((st.st_mtime, st.st_size, path))
    return out


class RetentionJob(threading.Thread):
    """Days-based retention every `every_seconds`; the size cap and the disk usage figures every `check_seconds`."""

    def __init__(
        self,
        store: EventStore,
        snapshots: Path,
        retention: Retention,
        every_seconds: float = 3600.0,
        clips: Path | None = None,
        max_media_bytes: float | None = None,
        check_seconds: float = 60.0,
    ):
        super().__init__(name="retention", daemon=True)
        self.store, self.retention, self.every, self.check = store, retention, every_seconds, check_seconds
        self.folders = {"snapshot": Path(snapshots), **({"clip": Path(clips)} if clips is not None else {})}
        self.max_media_bytes = max_media_bytes
        self.usage: dict[str, int] = {}  # bytes per MEDIA column, as of the last check
        self._stop_event = threading.Event()

    def run(self) -> None:
        last = -float("inf")
        while not self._stop_event.is_set():
            try:
                if time.monotonic() - last >= self.every:
                    last = time.monotonic()
                    apply_retention(
                        self.store, self.folders["snapshot"], self.retention, clips=self.folders.get("clip")
                    )
                if self.max_media_bytes is not None:
                    enforce_quota(self.store, self.folders, self.max_media_bytes)
                self.usage = media_usage(self.folders)
            except Exception as err:  # noqa: BLE001 (the job must outlive a bad run)
                log.warning("retention job failed: %s", err)
            self._stop_event.wait(self.check)

    def stop(self) -> None:
        self._stop_event.set()
