"""The one PASCAL VOC annotation parser. Policy is the caller's: the dataset importer drops and counts bad or tiny
boxes, the evaluator clips, marks tiny or difficult faces difficult and raises on bad coordinates."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass
class VocObject:
    name: str
    box: list[float]  # xmin, ymin, xmax, ymax as written: neither clipped nor checked for size
    difficult: bool
    error: str | None = None  # why the box is unusable (then `box` is not to be used)


@dataclass
class VocAnnotation:
    tag: str  # of the root element: "annotation" for a VOC file
    filename: str
    path: str
    width: float  # 0 where the file gives no size
    height: float
    objects: list[VocObject]  # those with a <bndbox>


def parse_voc_xml(xml_path: Path) -> VocAnnotation:
    """Read one VOC xml file; raises ET.ParseError or OSError where it cannot be read."""
    root = ET.parse(xml_path).getroot()
    objects = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            continue
        try:
            box = [float(bb.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax")]
            error = None if all(map(math.isfinite, box)) else "a box lacks a coordinate"
        except ValueError:
            box, error = [], "a box coordinate is not a number"
        difficult = (obj.findtext("difficult") or "0").strip() in ("1", "true", "True")
        objects.append(VocObject((obj.findtext("name") or "").strip(), box, difficult, error))
    return VocAnnotation(
        root.tag,
        (root.findtext("filename") or "").strip(),
        (root.findtext("path") or "").strip(),
        _size(root, "width"),
        _size(root, "height"),
        objects,
    )


def _size(root: ET.Element, key: str) -> float:
    """A side of <size>; 0 (no size: callers fall back to the image's own) where it is missing or not a number."""
    try:
        value = float(root.findtext(f"size/{key}") or 0)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0
