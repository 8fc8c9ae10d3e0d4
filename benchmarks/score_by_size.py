"""How often a detection is an annotated face, by its size and score, on the TRAIN photos: whether a low-scoring
small face is worth a higher score.

    python benchmarks/score_by_size.py [--manifest build/crops/manifest.csv] [--data ../shared/data]

Every detection of the default detector (the scales `predict` chooses, score >= 0.1, boxes calibrated) on the
andrewmvd and jolignier photos the manifest puts in the train split; a detection with IoU >= 0.5 with an annotated
face is a hit, one on a difficult face is left out. Prints one JSON line: per size bin (the box's short side, px)
and score bin, the detections and the share that are hits. Unannotated faces count as misses, so the shares are a
floor on precision.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SIZES = ((0, 12), (12, 16), (16, 24), (24, 48), (48, 100_000))
SCORES = ((0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 1.01))


def detections(data: Path, manifest: Path) -> np.ndarray:
    """(N, 3): size, score, hit of every detection on the train photos."""
    from maskwatch.core.media import read_image
    from maskwatch.detect.anchors import box_iou
    from maskwatch.evaluate.voc import read_voc_folder, restrict_to_split
    from maskwatch.pipeline import MaskPipeline

    pipeline = MaskPipeline.from_defaults(min_score=0.1, threads=1)
    rows = []
    for source in ("andrewmvd", "jolignier"):
        photos, _ = restrict_to_split(read_voc_folder(data / source), manifest, split="train")
        for photo in photos:
            found = pipeline.detector.detect(read_image(Path(photo.image_file)))
            if not len(found):
                continue
            boxes = pipeline.calibration.apply(found.xyxy)
            truth = np.asarray(photo.boxes, np.float32).reshape(-1, 4)
            overlap = box_iou(boxes, truth) if len(truth) else np.zeros((len(boxes), 0))
            for i, box in enumerate(boxes):
                best = int(np.argmax(overlap[i])) if overlap.shape[1] else -1
                hit = best >= 0 and overlap[i, best] >= 0.5
                if hit and photo.difficult[best]:
                    continue
                rows.append((float(min(box[2] - box[0], box[3] - box[1])), float(found.det_scores[i]), float(hit)))
    return np.array(rows, np.float64).reshape(-1, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--manifest", type=Path, default=Path("build/crops/manifest.csv"))
    args = ap.parse_args()
    found = detections(args.data, args.manifest)
    bins = []
    for lo, hi in SIZES:
        for low, high in SCORES:
            inside = (found[:, 0] >= lo) & (found[:, 0] < hi) & (found[:, 1] >= low) & (found[:, 1] < high)
            if inside.any():
                share = round(float(found[inside, 2].mean()), 3)
                bins.append({"size": [lo, hi], "score": [low, high], "detections": int(inside.sum()), "hits": share})
    print(json.dumps({"detections": len(found), "bins": bins}))


if __name__ == "__main__":
    main()
