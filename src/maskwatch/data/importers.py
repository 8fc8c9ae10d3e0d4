"""Readers for PASCAL VOC, YOLO txt and class-folder layouts, and layout auto-detection."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import yaml

from maskwatch.core.errors import UserError
from maskwatch.core.labels import normalize_label
from maskwatch.data.records import (
    MIN_BOX_PX,
    AnnotatedImage,
    LabeledImage,
    SourceScan,
    is_image,
)
from maskwatch.data.voc_xml import parse_voc_xml

YOLO_NAME_FILES = ("data.yaml", "dataset.yaml", "classes.txt", "obj.names", "classes.names")


def clip_boxes(boxes: np.ndarray, width: int, height: int, min_px: int = MIN_BOX_PX) -> tuple[np.ndarray, np.ndarray]:
    """Clip (N, 4) boxes to the image; returns the clipped boxes and a mask of those kept (shorter side >= min_px)."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return boxes, sides >= min_px


def _image_index(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Every image under folder by file name and by stem, so annotations can find images lying elsewhere."""
    by_name: dict[str, Path] = {}
    by_stem: dict[str, Path] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and is_image(p):
            by_name.setdefault(p.name, p)
            by_stem.setdefault(p.stem, p)
    return by_name, by_stem


def _finish_boxes(
    source: str,
    path: Path,
    width: int,
    height: int,
    raw: list[tuple[str, list[float]]],
    dropped: Counter,
    unknown: Counter,
) -> AnnotatedImage:
    boxes, labels = [], []
    for name, box in raw:
        label = normalize_label(name)
        if label is None:
            dropped["unknown_label"] += 1
            unknown[name] += 1
            continue
        boxes.append(box)
        labels.append(label)
    clipped, keep = clip_boxes(np.array(boxes, np.float32), width, height)
    dropped["tiny_box"] += int((~keep).sum())
    return AnnotatedImage(
        path, width, height, clipped[keep], [lab for lab, k in zip(labels, keep, strict=True) if k], source
    )


def read_voc(folder: Path, source: str | None = None) -> SourceScan:
    """PASCAL VOC: *.xml annotations anywhere under folder, images found by <filename>, <path> or the xml stem."""
    folder = Path(folder)
    source = source or folder.name
    by_name, by_stem = _image_index(folder)
    scan = SourceScan(source, "voc", [])
    for xml_path in sorted(folder.rglob("*.xml")):
        try:
            voc = parse_voc_xml(xml_path)
        except ET.ParseError:
            scan.dropped["bad_annotation"] += 1
            continue
        if voc.tag != "annotation":
            continue
        image = by_name.get(voc.filename) or by_name.get(Path(voc.path).name) or by_stem.get(xml_path.stem)
        if image is None and voc.filename and not Path(voc.filename).suffix:
            image = by_stem.get(voc.filename)
        if image is None:
            scan.dropped["missing_image"] += 1
            continue
        width, height = int(voc.width), int(voc.height)
        if width <= 0 or height <= 0:
            shape = _image_shape(image, scan)
            if shape is None:
                continue
            height, width = shape
        raw = []
        for obj in voc.objects:
            if obj.error:
                scan.dropped["bad_annotation"] += 1
            else:
                raw.append((obj.name, obj.box))
        scan.items.append(_finish_boxes(source, image, width, height, raw, scan.dropped, scan.unknown_names))
    return scan


def _image_shape(path: Path, scan: SourceScan) -> tuple[int, int] | None:
    """(height, width) of the image; None, counted as a corrupt image, where it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        scan.dropped["corrupt_image"] += 1
        return None
    return image.shape[:2]


def read_yolo_names(folder: Path) -> list[str] | None:
    """Class names for a YOLO folder from its data.yaml `names:` (list or {id: name}) or classes.txt / obj.names."""
    for name in YOLO_NAME_FILES:
        candidate = folder / name
        if not candidate.is_file():
            continue
        if candidate.suffix in (".yaml", ".yml"):
            try:
                spec = yaml.safe_load(candidate.read_text())
            except (yaml.YAMLError, UnicodeDecodeError):
                continue
            names = spec.get("names") if isinstance(spec, dict) else None
            if isinstance(names, dict) and all(str(k).isdigit() for k in names):
                return [str(names[k]) for k in sorted(names, key=int)]
            if isinstance(names, list):
                return [str(n) for n in names]
        else:
            return [line.strip() for line in candidate.read_text().splitlines() if line.strip()]
    return None


def _yolo_label_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.txt") if "labels" in p.relative_to(folder).parts[:-1])


def read_yolo(folder: Path, source: str | None = None) -> SourceScan:
    """YOLO txt: labels/**.txt with `class cx cy w h` (normalised), images in the matching images/ folder."""
    folder = Path(folder)
    source = source or folder.name
    names = read_yolo_names(folder)
    if names is None:
        raise UserError(f"{folder}: YOLO labels found but no class names (data.yaml names:, classes.txt or obj.names)")
    _, by_stem = _image_index(folder)
    scan = SourceScan(source, "yolo", [])
    for txt in _yolo_label_files(folder):
        rel = txt.relative_to(folder)
        parts = ["images" if p == "labels" else p for p in rel.parts[:-1]]
        image = next(
            (
                folder.joinpath(*parts, txt.stem + ext)
                for ext in (".jpg", ".jpeg", ".png", ".bmp", ".webp")
                if folder.joinpath(*parts, txt.stem + ext).is_file()
            ),
            None,
        ) or by_stem.get(txt.stem)
        if image is None:
            scan.dropped["missing_image"] += 1
            continue
        shape = _image_shape(image, scan)
        if shape is None:
            continue
        height, width = shape
        raw = []
        for line in txt.read_text().splitlines():
            fields = line.split()
            if not fields:
                continue
            try:
                cls, cx, cy, w, h = int(fields[0]), *(float(v) for v in fields[1:5])
            except (ValueError, TypeError):
                scan.dropped["bad_annotation"] += 1
                continue
            name = names[cls] if 0 <= cls < len(names) else f"class_{cls}"
            raw.append(
                (name, [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height])
            )
        scan.items.append(_finish_boxes(source, image, width, height, raw, scan.dropped, scan.unknown_names))
    return scan


def read_class_folders(folder: Path, source: str | None = None) -> SourceScan:
    """One subfolder per label; images in unknown-label folders are counted and skipped."""
    folder = Path(folder)
    source = source or folder.name
    scan = SourceScan(source, "folders", [])
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        images = sorted(p for p in sub.rglob("*") if p.is_file() and is_image(p))
        label = normalize_label(sub.name)
        if label is None:
            scan.dropped["unknown_label"] += len(images)
            scan.unknown_names[sub.name] += len(images)
            continue
        scan.items.extend(LabeledImage(p, label, source) for p in images)
    return scan


VOC_DIRS = ("annotations", "Annotations", "xml", "labels")


def _looks_like_voc(xml_path: Path) -> bool:
    try:
        return "<annotation" in xml_path.read_text(errors="ignore")[:2000]
    except OSError:
        return False


def detect_layout(folder: Path) -> str | None:
    """'voc', 'yolo', 'folders' or None for a folder holding one source.

    Only looks near the top (folder/, folder/annotations/, folder/labels/, folder/<split>/labels/), so a root
    holding several sources is not mistaken for one source."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    label_dirs = [folder / "labels", *folder.glob("*/labels")]
    if any(any(d.glob("*.txt")) for d in label_dirs if d.is_dir()) and read_yolo_names(folder) is not None:
        return "yolo"
    xml_dirs = [folder, *(folder / d for d in VOC_DIRS)]
    if any(_looks_like_voc(x) for d in xml_dirs if d.is_dir() for x in sorted(d.glob("*.xml"))[:5]):
        return "voc"
    subs = [p for p in folder.iterdir() if p.is_dir()]
    if any(normalize_label(p.name) and any(is_image(f) for f in p.iterdir()) for p in subs):
        return "folders"
    return None


READERS = {"voc": read_voc, "yolo": read_yolo, "folders": read_class_folders}


def read_source(folder: Path, source: str | None = None) -> SourceScan:
    """Read one source folder of any supported layout."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    layout = detect_layout(folder)
    if layout is None:
        raise UserError(f"{folder}: no recognisable layout (PASCAL VOC xml, YOLO labels/ + names, or class folders)")
    return READERS[layout](folder, source)


def find_sources(folder: Path, exclude: tuple[str, ...] | list[str] = ()) -> list[tuple[str, Path]]:
    """(name, path) of the sources in folder: the folder itself if it has a layout, else each subfolder that has one.
    Paths are absolute, so the manifest's image paths do not depend on the working directory."""
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    if detect_layout(folder) is not None:
        return [] if folder.name in exclude else [(folder.name, folder)]
    found = [
        (p.name, p)
        for p in sorted(folder.iterdir())
        if p.is_dir() and p.name not in exclude and detect_layout(p) is not None
    ]
    if not found and folder.name not in exclude and not any(p.name in exclude for p in folder.iterdir()):
        raise UserError(f"{folder}: no recognisable layout in it or its subfolders (PASCAL VOC, YOLO or class folders)")
    return found


def read_sources(folders: list[Path], exclude: tuple[str, ...] | list[str] = ()) -> list[SourceScan]:
    """Read every source under the given folders (each a source or a root of sources); names must be unique."""
    scans: list[SourceScan] = []
    for folder in folders:
        for name, path in find_sources(Path(folder), exclude):
            if any(s.name == name for s in scans):
                raise UserError(f"{path}: a source named {name!r} was already given")
            scans.append(read_source(path, name))
    return scans
