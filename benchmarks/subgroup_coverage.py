"""How many faces of each subgroup bin (maskwatch.evaluate.subgroups) the data holds: does a weak bin lack data?

    python benchmarks/subgroup_coverage.py ../shared/data/andrewmvd ../shared/data/jolignier \
        --manifest build/crops/manifest.csv [--split train] [--crops build/crops]

Counts, per VOC folder, the non-difficult ground-truth faces of the split by face size, brightness and (masked
faces) mask colour, split by label; with --crops, the same for the crop dataset's rows of the split (luma and mask
colour inside the face box mapped into each crop). Pose needs a detector run and is left out. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from maskwatch.core.media import read_image
from maskwatch.data.manifest import read_manifest
from maskwatch.evaluate.detector import split_annotations
from maskwatch.evaluate.subgroup_faces import box_in_crop, parse_box
from maskwatch.evaluate.subgroups import brightness_bin, face_luma, face_size_bin, mask_colour


def _count(into: dict[str, Counter], label: str, size: str, light: str, colour: str | None) -> None:
    into["face_size"][f"{size} {label}"] += 1
    into["brightness"][f"{light} {label}"] += 1
    if colour is not None:
        into["mask_colour"][colour] += 1


def voc_coverage(folder: Path, manifest: Path, split: str) -> dict[str, Counter]:
    counts: dict[str, Counter] = {"face_size": Counter(), "brightness": Counter(), "mask_colour": Counter()}
    for ann in split_annotations([folder], manifest, split):
        image = read_image(ann.image_file)
        for box, label, hard in zip(ann.boxes, ann.labels, ann.difficult, strict=True):
            if hard:
                continue
            size = face_size_bin(float(max(box[2] - box[0], box[3] - box[1])))
            colour = mask_colour(image, box) if label == "mask" else None
            _count(counts, label, size, brightness_bin(face_luma(image, box)), colour)
    return counts


def crop_coverage(dataset: Path, split: str) -> dict[str, dict[str, Counter]]:
    per_source: dict[str, dict[str, Counter]] = {}
    for row in read_manifest(dataset, split=split):
        counts = per_source.setdefault(
            row.source, {"face_size": Counter(), "brightness": Counter(), "mask_colour": Counter()}
        )
        crop = read_image(dataset / row.path)
        box = parse_box(row.box)
        face = box_in_crop(box, crop.shape[0]) if box is not None else [0, 0, crop.shape[1], crop.shape[0]]
        colour = mask_colour(crop, face) if row.label == "mask" else None
        _count(counts, row.label, face_size_bin(row.face_px), brightness_bin(face_luma(crop, face)), colour)
    return per_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--crops", type=Path)
    args = parser.parse_args()
    figures: dict[str, object] = {"split": args.split}
    figures["voc"] = {f.name: voc_coverage(f, args.manifest, args.split) for f in args.folders}
    if args.crops is not None:
        figures["crops"] = crop_coverage(args.crops, args.split)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
