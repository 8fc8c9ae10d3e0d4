"""Ground truth of PASCAL VOC folders: one ImageAnnotation per annotated image, and the images a crop manifest
lists under a split."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.core.labels import normalize_label
from maskwatch.data.manifest import read_manifest
from maskwatch.data.voc_xml import VocAnnotation, parse_voc_xml

log = logging.getLogger(__name__)

# Faces whose shorter side is under this many pixels are scored as "difficult" (neither found nor missed):
# the dataset build drops them for the same reason, they cannot be judged masked or not.
MIN_FACE_PX = 10


@dataclass
class ImageAnnotation:
    """Ground truth of one image: boxes (M, 4) pixel x1 y1 x2 y2, labels in CLASSES, difficult (M,) bool."""

    name: str
    boxes: np.ndarray
    labels: list[str]
    difficult: np.ndarray
    path: str | None = None

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, np.float64).reshape(-1, 4)
        self.difficult = np.asarray(self.difficult, bool).reshape(len(self.boxes))

    @property
    def image_file(self) -> Path:
        """The annotated image's file (annotations read from VOC folders know it)."""
        if self.path is None:
            raise UserError(f"{self.name}: the annotation names no image file")
        return Path(self.path)


# ---- reading ground truth ----------------------------------------------------------------------------


def _image_annotation(voc: VocAnnotation, xml_path: Path, image_path: Path, min_face_px: float) -> ImageAnnotation:
    boxes, labels, difficult = [], [], []
    width, height = voc.width, voc.height
    for obj in voc.objects:
        label = normalize_label(obj.name)
        if label is None:
            continue
        if obj.error:
            raise UserError(f"{xml_path}: {obj.error}")
        box = obj.box
        if width > 0 and height > 0:
            box = [
                min(max(box[0], 0), width),
                min(max(box[1], 0), height),
                min(max(box[2], 0), width),
                min(max(box[3], 0), height),
            ]
        if box[2] <= box[0] or box[3] <= box[1]:
            continue  # empty, or wholly outside the image
        boxes.append(box)
        labels.append(label)
        difficult.append(obj.difficult or min(box[2] - box[0], box[3] - box[1]) < min_face_px)
    return ImageAnnotation(
        image_path.name, np.array(boxes).reshape(-1, 4), labels, np.array(difficult, bool), str(image_path)
    )


def read_voc_xml(xml_path: Path, image_path: Path | None = None, min_face_px: float = MIN_FACE_PX) -> ImageAnnotation:
    """One VOC annotation file; boxes clipped to the image, unknown class names skipped, tiny faces difficult."""
    try:
        voc = parse_voc_xml(xml_path)
    except (ET.ParseError, OSError) as err:
        raise UserError(f"{xml_path}: not a readable VOC annotation ({err})") from None
    image_path = image_path or xml_path.with_name(voc.filename or xml_path.stem + ".jpg")
    return _image_annotation(voc, xml_path, image_path, min_face_px)


def read_voc_folder(folder: Path, min_face_px: float = MIN_FACE_PX) -> list[ImageAnnotation]:
    """Every annotated image of a VOC folder (annotations/*.xml, images/ or anywhere below the folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    xml_dir = folder / "annotations" if (folder / "annotations").is_dir() else folder
    xml_files = sorted(xml_dir.rglob("*.xml"))
    if not xml_files:
        raise UserError(f"{folder}: no VOC annotations (*.xml) found")
    images = [p for p in sorted(folder.rglob("*")) if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp")]
    by_name = {p.name: p for p in images}
    by_stem = {p.stem: p for p in images}
    out = []
    for xml_path in xml_files:
        try:
            voc = parse_voc_xml(xml_path)
        except (ET.ParseError, OSError) as err:
            log.warning("%s: not a readable VOC annotation (%s), skipped", xml_path, err)
            continue
        if voc.tag != "annotation":  # another XML file in the folder, as the importer also skips
            log.warning("%s: root element <%s>, not <annotation>, skipped", xml_path, voc.tag)
            continue
        image = by_name.get(Path(voc.filename).name) or by_stem.get(xml_path.stem)
        if image is None:
            log.warning("%s: image not found, skipped", xml_path)
            continue
        out.append(_image_annotation(voc, xml_path, image.absolute(), min_face_px))
    return out


# ---- restricting to our validation split ---------------------------------------------------------------


def _path_suffix(path: str, n: int = 3) -> tuple[str, ...]:
    return Path(path.replace("\\", "/")).parts[-n:]


def split_images(manifest: Path) -> dict[str, set[str]]:
    """`image` paths of the manifest's rows, per split (train, val)."""
    split: dict[str, set[str]] = {"val": set(), "train": set()}
    for row in read_manifest(manifest, ("image", "split")):
        split.setdefault(row.split, set()).add(row.image)
    return split


def paths_in_split(paths: list[str], manifest: Path, split: str = "val") -> tuple[list[int], int]:
    """Indices of the image paths the manifest lists under `split`, matched on the path's last three parts
    (source/images/file) so absolute and relative manifest paths both work; also how many of those the manifest
    lists under the other split as well (a leak worth knowing about)."""
    images = split_images(manifest)
    wanted, other = images.get(split, set()), set().union(*(v for k, v in images.items() if k != split))
    key_len = min((len(Path(p).parts) for p in wanted), default=3)
    key_len = max(1, min(3, key_len))
    wanted_keys = {_path_suffix(p, key_len) for p in wanted}
    other_keys = {_path_suffix(p, key_len) for p in other}

    def keys(path: str) -> set[tuple[str, ...]]:
        return {_path_suffix(path, key_len), _path_suffix(str(Path(path).resolve()), key_len)}  # links too

    kept = [i for i, p in enumerate(paths) if keys(p) & wanted_keys]
    both = sum(bool(keys(paths[i]) & other_keys) for i in kept)
    if not kept:
        raise UserError(f"{manifest}: none of the given images is listed with split == {split}")
    return kept, both


def restrict_to_split(
    annotations: list[ImageAnnotation], manifest: Path, split: str = "val"
) -> tuple[list[ImageAnnotation], int]:
    """The annotations whose image the manifest lists under `split` (see paths_in_split)."""
    kept, both = paths_in_split([a.path or a.name for a in annotations], manifest, split)
    return [annotations[i] for i in kept], both
