"""Build the crop dataset: import, clean, crop, group near-duplicates, split, write manifest.csv and cleaning.json."""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import shutil
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.data import faces as F
from maskwatch.data.hashing import NEAR_DUP_BITS, UPPER_FACE_BITS, UnionFind, close_pairs
from maskwatch.data.importers import read_sources
from maskwatch.data.manifest import MANIFEST_COLUMNS
from maskwatch.data.records import AnnotatedImage, LabeledImage
from maskwatch.data.split import assert_no_straddle, split_by_group

_detectors: tuple = ()


def _init_worker() -> None:
    global _detectors
    from maskwatch.detect import RetinaFaceDetector
    from maskwatch.detect.single_face import attempt_detectors

    # One ONNX thread per worker process: on a shared small machine processes scale better than threads.
    _detectors = (
        RetinaFaceDetector(input_size=F.SCENE_INPUT_SIZE, min_score=F.MIN_SCORE, threads=1),
        attempt_detectors(threads=1),
    )


def _work(job: tuple[int, AnnotatedImage | LabeledImage]) -> F.ImageResult:
    return F.process_image(job[0], job[1], *_detectors)


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
    fp = close_pairs(face_hashes, face_bits) if len(face_hashes) else np.zeros((0, 2), np.int64)
    face_pairs = [face_image[fp].reshape(-1, 2)]
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


def _process_all(items: list, workers: int, progress: bool) -> list[F.ImageResult]:
    jobs = list(enumerate(items))
    if workers <= 1:
        _init_worker()
        results = map(_work, jobs)
        pool = None
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


def build_dataset(
    sources: list[Path],
    out: Path,
    val_fraction: float = 0.15,
    seed: int = 0,
    exclude: tuple[str, ...] | list[str] = (),
    workers: int = 2,
    progress: bool = True,
) -> BuildSummary:
    started = time.perf_counter()
    if not 0 < val_fraction < 1:
        raise UserError(f"--val-fraction must be between 0 and 1, got {val_fraction}")
    scans = read_sources([Path(s) for s in sources], exclude)
    if not scans:
        raise UserError("no sources left to build from")
    items = [item for scan in scans for item in scan.items]
    dropped: dict[str, Counter] = {scan.name: Counter(scan.dropped) for scan in scans}
    notes: dict[str, Counter] = {scan.name: Counter() for scan in scans}
    results = _process_all(items, workers, progress)
    t_crop = time.perf_counter()

    # Exact duplicates: keep the first copy; copies filed under different labels are ambiguous, drop them all.
    by_hash: dict[str, list[int]] = defaultdict(list)
    # Class-folder images per source, label and outcome: a reason that hits one class more is a dataset bias.
    per_class: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for r in results:
        src = items[r.index].source
        if isinstance(items[r.index], LabeledImage):
            per_class[src][items[r.index].label].update({"images": 1, r.status: 1, **r.counts})
        if r.status != "ok":
            dropped[src][r.status] += 1
            continue
        by_hash[r.sha1].append(r.index)
        for reason, n in r.counts.items():
            (dropped if reason in ("no_face", "tiny_box") else notes)[src][reason] += n
    kept: list[F.ImageResult] = []
    for members in by_hash.values():
        labels = {items[i].label for i in members if isinstance(items[i], LabeledImage)}
        if len(labels) > 1:
            for i in members:
                dropped[items[i].source]["label_conflict"] += 1
            continue
        for i in members[1:]:
            dropped[items[i].source]["exact_duplicate"] += 1
            if isinstance(items[i], LabeledImage):
                per_class[items[i].source][items[i].label]["exact_duplicate"] += 1
        kept.append(results[members[0]])
    kept = [r for r in sorted(kept, key=lambda r: r.index) if r.faces]

    faces = [(k, n, f) for k, r in enumerate(kept) for n, f in enumerate(r.faces)]
    if not faces:
        why = "; ".join(
            f"{src}: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()) if v)
            for src, reasons in dropped.items()
            if any(reasons.values())
        )
        raise UserError(f"no face crops could be made from the given sources{f' (dropped: {why})' if why else ''}")
    groups = group_images(
        np.array([r.phash for r in kept], np.uint64),
        np.array([f.upper_hash for _, _, f in faces], np.uint64),
        np.array([k for k, _, _ in faces], np.int64),
        np.array([r.upper_phash for r in kept], np.uint64),
    )
    face_group = groups.group_of_image[[k for k, _, _ in faces]]
    face_source = [items[kept[k].index].source for k, _, _ in faces]
    splits = split_by_group(
        face_group, [f"{s}/{f.label}" for s, (_, _, f) in zip(face_source, faces)], val_fraction, seed
    )
    assert_no_straddle(face_group, splits)

    out = Path(out)
    if (out / "crops").exists():
        shutil.rmtree(out / "crops")
    rows = []
    for (k, n, face), group, split in zip(faces, face_group, splits):
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

    sizes = Counter(groups.group_of_image.tolist())
    stats = {
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
        "notes": {src: dict(c) for src, c in notes.items()},
        "class_folder_outcomes": {
            src: {lab: dict(sorted(c.items())) for lab, c in sorted(labs.items())} for src, labs in per_class.items()
        },
        "no_face_rate": {
            src: {lab: round(c["no_face"] / max(c["ok"], 1), 4) for lab, c in sorted(labs.items())}
            for src, labs in per_class.items()
        },
        "unknown_label_names": {scan.name: dict(scan.unknown_names) for scan in scans if scan.unknown_names},
        "seconds_cropping": round(t_crop - started, 1),
        "seconds_total": round(time.perf_counter() - started, 1),
        "val_fraction": val_fraction,
        "seed": seed,
    }
    (out / "build.json").write_text(json.dumps(stats, indent=2) + "\n")
    return BuildSummary(out, len(rows), dropped, stats)
