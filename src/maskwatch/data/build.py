"""Build the crop dataset: import, clean, crop, group near-duplicates, split, write manifest.csv and cleaning.json."""

from __future__ import annotations

import csv
import functools
import json
import multiprocessing as mp
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.data import faces as F
from maskwatch.data.hashing import NEAR_DUP_BITS, UPPER_FACE_BITS, UnionFind, close_pairs
from maskwatch.data.importers import read_sources
from maskwatch.data.manifest import MANIFEST_COLUMNS
from maskwatch.data.records import AnnotatedImage, LabeledImage
from maskwatch.data.split import assert_no_straddle, split_by_group

if TYPE_CHECKING:
    from multiprocessing.pool import Pool

    from maskwatch.detect import RetinaFaceDetector

Item = AnnotatedImage | LabeledImage
FaceRef = tuple[int, int, F.FaceRecord]  # (index in the kept images, index among its faces, the face)


@functools.cache
def _worker_detectors() -> tuple[RetinaFaceDetector, list[tuple[float, RetinaFaceDetector]]]:
    """This process's detectors, made once: the scene detector and the single-face attempts."""
    from maskwatch.detect import RetinaFaceDetector
    from maskwatch.detect.single_face import attempt_detectors

    # One ONNX thread per worker process: on a shared small machine processes scale better than threads.
    return (
        RetinaFaceDetector(input_size=F.SCENE_INPUT_SIZE, min_score=F.MIN_SCORE, threads=1),
        attempt_detectors(threads=1),
    )


def _init_worker() -> None:
    _worker_detectors()


def _work(job: tuple[int, Item]) -> F.ImageResult:
    return F.process_image(job[0], job[1], *_worker_detectors())


@dataclass
class ImageGroups:
    group_of_image: np.ndarray  # group id (smallest member index) per image
    near_pairs: np.ndarray  # (P, 2) whole-image pHash pairs
    face_pairs: np.ndarray  # (Q, 2) image pairs joined by the upper-face hash


def group_images(
    image_hashes: np.ndarray,
    face_hashes: np.ndarray,
    face_image: np.ndarray,
    upper_hashes: np.ndarray | None = None,
    near_bits: int = NEAR_DUP_BITS,
    face_bits: int = UPPER_FACE_BITS,
) -> ImageGroups:
    """Union-find over images: joined when whole-image pHashes are within near_bits, when two of their faces'
    upper-face hashes are within face_bits, or when the upper-part hashes of two tight face images (upper_hashes,
    0 = not applicable) are within face_bits: the last two put a pasted-mask copy with its unmasked original."""
    uf = UnionFind(len(image_hashes))
    near = close_pairs(image_hashes, near_bits)
    face_hashes = np.asarray(face_hashes, np.uint64)
    hashed = np.flatnonzero(face_hashes != 0)  # 0: no hash (class-folder faces), which would match every other 0
    fp = hashed[close_pairs(face_hashes[hashed], face_bits)] if len(hashed) else np.zeros((0, 2), np.int64)
    face_pairs = [np.asarray(face_image)[fp].reshape(-1, 2)]
    if upper_hashes is not None:
        upper_hashes = np.asarray(upper_hashes, np.uint64)
        has = np.flatnonzero(upper_hashes != 0)
        face_pairs.append(has[close_pairs(upper_hashes[has], face_bits)].reshape(-1, 2))
    joined = np.concatenate(face_pairs)
    joined = joined[joined[:, 0] != joined[:, 1]]
    for a, b in np.concatenate([near, joined]):
        uf.union(int(a), int(b))
    return ImageGroups(uf.labels(), near, joined)


def _joined_only_by_upper(groups: ImageGroups) -> int:
    """How many images the upper-face hashes put into a group that whole-image hashes alone would not have."""
    uf = UnionFind(len(groups.group_of_image))
    for a, b in groups.near_pairs:
        uf.union(int(a), int(b))
    alone = uf.labels()
    sizes_near = np.bincount(alone)[alone]
    sizes_all = np.bincount(groups.group_of_image)[groups.group_of_image]
    return int((sizes_all > sizes_near).sum())


@dataclass
class BuildSummary:
    out: Path
    crops: int
    dropped: dict[str, Counter]
    stats: dict = field(default_factory=dict)


def _process_all(items: list[Item], workers: int, progress: bool) -> list[F.ImageResult]:
    jobs = list(enumerate(items))
    results: Iterable[F.ImageResult]
    pool: Pool | None = None
    if workers <= 1:
        _init_worker()
        results = map(_work, jobs)
    else:
        pool = mp.get_context("spawn" if mp.get_start_method(allow_none=True) == "spawn" else "fork").Pool(
            workers, initializer=_init_worker
        )
        results = pool.imap(_work, jobs, chunksize=16)
    try:
        if progress:
            from rich.progress import track

            results = track(results, total=len(jobs), description="cropping faces")
        return list(results)
    finally:
        if pool is not None:
            pool.close()
            pool.join()


@dataclass
class _Tally:
    """What the build left out and noted, per source; and the class-folder images' outcomes per label."""

    dropped: dict[str, Counter[str]]
    notes: dict[str, Counter[str]]
    # Class-folder images per source, label and outcome: a reason that hits one class more is a dataset bias.
    per_class: dict[str, dict[str, Counter[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )


def build_dataset(
    sources: list[Path],
    out: Path,
    val_fraction: float = 0.15,
    seed: int = 0,
    exclude: tuple[str, ...] | list[str] = (),
    workers: int = 2,
    progress: bool = True,
    overrides: Path | None = None,
) -> BuildSummary:
    """`overrides`: a label-corrections file (maskwatch.data.overrides) applied to the sources as read."""
    started = time.perf_counter()
    if not 0 < val_fraction < 1:
        raise UserError(f"--val-fraction must be between 0 and 1, got {val_fraction}")
    scans = read_sources([Path(s) for s in sources], exclude)
    if not scans:
        raise UserError("no sources left to build from")
    items = [item for scan in scans for item in scan.items]
    applied: Counter[str] = Counter()
    if overrides is not None:
        from maskwatch.data.overrides import apply_overrides, read_overrides

        items, applied = apply_overrides(items, read_overrides(overrides))
    tally = _Tally({scan.name: Counter(scan.dropped) for scan in scans}, {scan.name: Counter() for scan in scans})
    results = _process_all(items, workers, progress)
    t_crop = time.perf_counter()

    kept = _keep_unique(results, items, tally)
    faces = [(k, n, f) for k, r in enumerate(kept) for n, f in enumerate(r.faces)]
    if not faces:
        raise UserError(f"no face crops could be made from the given sources{_why_none(tally.dropped)}")
    groups = group_images(
        np.array([r.phash for r in kept], np.uint64),
        np.array([f.upper_hash for _, _, f in faces], np.uint64),
        np.array([k for k, _, _ in faces], np.int64),
        np.array([r.upper_phash for r in kept], np.uint64),
    )
    face_group = groups.group_of_image[[k for k, _, _ in faces]]
    face_source = [items[kept[k].index].source for k, _, _ in faces]
    strata = [f"{s}/{f.label}" for s, (_, _, f) in zip(face_source, faces, strict=True)]
    # a group's place in the split order comes from its photos' bytes, not from its position in this build
    splits = split_by_group(face_group, strata, val_fraction, seed, keys=[kept[k].sha1 for k, _, _ in faces])
    assert_no_straddle(face_group, splits)

    out = Path(out)
    rows = _write_crops(out, faces, face_group, splits, kept, items)
    _write_tables(out, rows, faces, kept, tally.dropped)
    stats = {
        **_build_stats(items, kept, rows, groups, tally),
        "unknown_label_names": {scan.name: dict(scan.unknown_names) for scan in scans if scan.unknown_names},
        "seconds_cropping": round(t_crop - started, 1),
        "seconds_total": round(time.perf_counter() - started, 1),
        "val_fraction": val_fraction,
        "seed": seed,
        **({"overrides": {"file": str(overrides), **applied}} if overrides is not None else {}),
    }
    (out / "build.json").write_text(json.dumps(stats, indent=2) + "\n")
    return BuildSummary(out, len(rows), tally.dropped, stats)


def _keep_unique(results: list[F.ImageResult], items: list[Item], tally: _Tally) -> list[F.ImageResult]:
    """The images cropped, each once, in their order, with faces; what was dropped or noted goes in `tally`.
    Exact duplicates: the first copy is kept; copies filed under different labels are ambiguous, all dropped."""
    by_hash: dict[str, list[int]] = defaultdict(list)
    for r in results:
        item = items[r.index]
        if isinstance(item, LabeledImage):
            tally.per_class[item.source][item.label].update({"images": 1, r.status: 1, **r.counts})
        if r.status != "ok":
            tally.dropped[item.source][r.status] += 1
            continue
        by_hash[r.sha1].append(r.index)
        for reason, n in r.counts.items():
            (tally.dropped if reason in ("no_face", "tiny_box") else tally.notes)[item.source][reason] += n
    kept: list[F.ImageResult] = []
    for members in by_hash.values():
        copies = [items[i] for i in members]
        labels = {copy.label for copy in copies if isinstance(copy, LabeledImage)}
        if len(labels) > 1:
            for i in members:
                tally.dropped[items[i].source]["label_conflict"] += 1
            continue
        for i in members[1:]:
            item = items[i]
            tally.dropped[item.source]["exact_duplicate"] += 1
            if isinstance(item, LabeledImage):
                tally.per_class[item.source][item.label]["exact_duplicate"] += 1
        kept.append(results[members[0]])
    return [r for r in sorted(kept, key=lambda r: r.index) if r.faces]


def _why_none(dropped: dict[str, Counter[str]]) -> str:
    why = "; ".join(
        f"{src}: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()) if v)
        for src, reasons in dropped.items()
        if any(reasons.values())
    )
    return f" (dropped: {why})" if why else ""


def _write_crops(
    out: Path,
    faces: list[FaceRef],
    face_group: np.ndarray,
    splits: np.ndarray,
    kept: list[F.ImageResult],
    items: list[Item],
) -> list[dict[str, str]]:
    """Each face's crop under out/crops/<label>/ (the folder is made anew); its manifest row."""
    if (out / "crops").exists():
        shutil.rmtree(out / "crops")
    rows = []
    for (k, n, face), group, split in zip(faces, face_group, splits, strict=True):
        result = kept[k]
        item = items[result.index]
        rel = Path("crops") / face.label / f"{item.source}-{result.sha1[:16]}-{n}.jpg"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(face.jpeg)
        rows.append(
            {
                "path": rel.as_posix(),
                "label": face.label,
                "source": item.source,
                "split": split,
                "group": f"g{int(group):06d}",
                "image": str(item.path),
                "box": " ".join(f"{v:.1f}" for v in face.box),
                "face_px": f"{face.face_px:.1f}",
                "brightness": f"{face.brightness:.1f}",
            }
        )
    return rows


def _write_tables(
    out: Path,
    rows: list[dict[str, str]],
    faces: list[FaceRef],
    kept: list[F.ImageResult],
    dropped: dict[str, Counter[str]],
) -> None:
    """manifest.csv, hashes.npz and cleaning.json."""
    with open(out / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    # Hashes per crop row, to check grouping thresholds against real pairs without re-running the detector.
    np.savez_compressed(
        out / "hashes.npz",
        image_phash=np.array([kept[k].phash for k, _, _ in faces], np.uint64),
        image_upper=np.array([kept[k].upper_phash for k, _, _ in faces], np.uint64),
        upper_hash=np.array([f.upper_hash for _, _, f in faces], np.uint64),
        image_index=np.array([k for k, _, _ in faces], np.int64),
    )
    cleaning = {src: {k: v for k, v in sorted(c.items()) if v} for src, c in dropped.items()}
    (out / "cleaning.json").write_text(json.dumps(cleaning, indent=2) + "\n")


def _build_stats(
    items: list[Item], kept: list[F.ImageResult], rows: list[dict[str, str]], groups: ImageGroups, tally: _Tally
) -> dict[str, object]:
    """build.json's counts: images, crops, duplicate groups and what was noted per source and class."""
    sizes = Counter(groups.group_of_image.tolist())
    per_class = tally.per_class
    return {
        "images_in": len(items),
        "images_kept": len(kept),
        "crops": len(rows),
        "groups": len(sizes),
        "multi_image_groups": sum(1 for v in sizes.values() if v > 1),
        "images_in_multi_groups": sum(v for v in sizes.values() if v > 1),
        "largest_group": max(sizes.values()),
        "near_duplicate_pairs": len(groups.near_pairs),
        "upper_face_pairs": len(groups.face_pairs),
        "images_joined_by_upper_face_only": _joined_only_by_upper(groups),
        "near_dup_bits": NEAR_DUP_BITS,
        "upper_face_bits": UPPER_FACE_BITS,
        "notes": {src: dict(c) for src, c in tally.notes.items()},
        "class_folder_outcomes": {
            src: {lab: dict(sorted(c.items())) for lab, c in sorted(labs.items())} for src, labs in per_class.items()
        },
        "no_face_rate": {
            src: {lab: round(c["no_face"] / max(c["ok"], 1), 4) for lab, c in sorted(labs.items())}
            for src, labs in per_class.items()
        },
    }
