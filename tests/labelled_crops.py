"""Small labelled sets of real face crops (face_crop of the andrewmvd VOC boxes): a built-dataset layout
(manifest.csv + crops/, all val, one group per photo) and a cases-export layout (class folders + cases.csv)."""

from __future__ import annotations

import csv
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2

from maskwatch.classify.crop import face_crop
from maskwatch.core.labels import normalize_label

COLUMNS = ("path", "label", "source", "split", "group", "image", "box", "face_px", "brightness")


def real_crops(shared: Path, wanted: dict[str, int], skip_photos: int = 0) -> list[tuple[str, str, object, list]]:
    """(label, photo, crop, box) of the first faces of each class, at least 16 px, after `skip_photos` photos."""
    counts = dict.fromkeys(wanted, 0)
    out = []
    for xml in sorted((shared / "andrewmvd" / "annotations").glob("*.xml"))[skip_photos:]:
        root = ET.parse(xml).getroot()
        image_path = shared / "andrewmvd" / "images" / (root.findtext("filename") or "")
        image = cv2.imread(str(image_path))
        if image is None:
            continue
        for obj in root.iter("object"):
            label = normalize_label(obj.findtext("name") or "")
            bb = obj.find("bndbox")
            box = [float(bb.findtext(k) or 0) for k in ("xmin", "ymin", "xmax", "ymax")]  # type: ignore[union-attr]
            if label is None or counts[label] >= wanted[label] or min(box[2] - box[0], box[3] - box[1]) < 16:
                continue
            counts[label] += 1
            out.append((label, str(image_path), face_crop(image, box), box))
        if counts == wanted:
            break
    return out


def write_dataset(shared: Path, out: Path, wanted: dict[str, int], val_every: int = 1) -> Path:
    """val_every: every k-th photo's faces go to val, the others to train (1: all val)."""
    rows = []
    photos: dict[str, int] = {}
    for n, (label, photo, crop, box) in enumerate(real_crops(shared, wanted)):
        split = "val" if photos.setdefault(photo, len(photos)) % val_every == val_every - 1 else "train"
        rel = f"crops/{label}/{n:04d}.jpg"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / rel), crop)
        size = max(box[2] - box[0], box[3] - box[1])
        row = {"path": rel, "label": label, "source": "andrewmvd", "split": split, "group": Path(photo).stem}
        rows.append({**row, "image": photo, "box": " ".join(f"{v:.0f}" for v in box), "face_px": f"{size:.0f}"})
        rows[-1]["brightness"] = f"{crop.mean():.1f}"
    with (out / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return out


def write_cases(shared: Path, out: Path, wanted: dict[str, int], skip_photos: int = 400) -> Path:
    """As `maskwatch cases export` lays them out: <label>/<id>.jpg, not_a_face/, and cases.csv."""
    lines = ["file,label,camera,reason"]
    for n, (label, _, crop, _) in enumerate(real_crops(shared, wanted, skip_photos)):
        small = cv2.resize(crop, (96, 96), interpolation=cv2.INTER_AREA)  # the service keeps crops of 128 px at most
        (out / label).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / label / f"case{n:04d}.jpg"), small)
        lines.append(f"{label}/case{n:04d}.jpg,{label},door,unsure")
    (out / "not_a_face").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "not_a_face" / "wall.jpg"), 128 + 0 * small)
    (out / "cases.csv").write_text("\n".join(lines) + "\n")
    return out


def street_voc(shared: Path, out: Path, count: int = 12) -> Path:
    """A VOC folder (annotations/ + images/) of the first `count` andrewmvd street photos, as a source to build."""
    for xml in sorted((shared / "andrewmvd" / "annotations").glob("*.xml"))[:count]:
        for sub, path in (("annotations", xml), ("images", shared / "andrewmvd" / "images" / f"{xml.stem}.jpg")):
            (out / sub).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, out / sub / path.name)
    return out
