"""Which face sizes one detector pass finds, in pixels at its input: the thresholds behind `maskwatch probe`'s advice.

    python benchmarks/face_size_limits.py ../shared/data --manifest build/crops/manifest.csv \
        [--split train] [--faces 60] [--input-size 640]

Real faces of the split (not difficult, at least MIN_SOURCE_PX on their long side) are cut out with their
surroundings (as the size sweep does) and pasted, one at a time, at each size into a square frame of the input size
on a still background from another photo of the split, so that the frame's pixels are the detector's input pixels.
The pipeline as the live service runs it (one pass at --input-size, faces >= detector.min_score 0.5) analyses each
frame; a face is found when a box of detector score >= 0.5 has IoU >= 0.5 with it. Prints one JSON line: the share
found per size, and the smallest and largest sizes from which on (up to which) the share stays at FOUND_SHARE or more
of the share found at the best size.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from maskwatch.data.scene_video import face_patch, size_sweep_frames
from maskwatch.data.scenes import read_photo, split_photos, still_background
from maskwatch.detect.anchors import box_iou
from maskwatch.pipeline import MaskPipeline

SMALL = (10, 12, 14, 16, 18, 20, 22, 24, 28, 32, 36, 40, 44, 48, 56, 64)
LARGE = (256, 320, 384, 448, 512, 576, 640)
MIN_SOURCE_PX = 48  # faces smaller than this in their photo would be blown up past their detail for the large sizes
FOUND_SHARE = 0.9  # of the share found at the best size: the sizes at which the detector is at its usual best


def sample_faces(data: Path, manifest: Path, split: str, count: int, seed: int) -> list:
    photos = split_photos(data, manifest, split)
    rng = np.random.default_rng(seed)
    picked = []
    for index in rng.permutation(len(photos)):
        photo = photos[index]
        faces = [f for f in photo.faces if not f.difficult and max(f.box[2:] - f.box[:2]) >= MIN_SOURCE_PX]
        if faces:
            picked.append((photo, faces[int(rng.integers(len(faces)))]))
        if len(picked) == count:
            break
    return picked, photos


def found_share(
    pipeline: MaskPipeline, picked: list, photos: list, side: int, sizes: tuple[int, ...], seed: int
) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    found = dict.fromkeys(sizes, 0)
    for photo, face in picked:
        patch, box = face_patch(read_photo(photo), face.box)
        backdrop = photos[int(rng.integers(len(photos)))]
        background = still_background(backdrop, (side, side), rng)
        for size, frame, truth in size_sweep_frames(patch, box, face.label, sizes, background):
            dets = pipeline.analyze(frame)
            boxes = dets.xyxy[dets.det_scores >= 0.5]  # detected (and then tracked), whatever its label
            found[size] += bool(len(boxes) and (box_iou(truth.box, boxes)[0] >= 0.5).any())
    return {size: found[size] / len(picked) for size in sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--faces", type=int, default=60)
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pipeline = MaskPipeline.from_defaults(input_size=args.input_size, min_score=0.5, threads=1)
    picked, photos = sample_faces(args.data, args.manifest, args.split, args.faces, args.seed)
    shares = found_share(pipeline, picked, photos, args.input_size, SMALL + LARGE, args.seed)
    bar = FOUND_SHARE * max(shares.values())
    small_ok = [s for s in SMALL if all(shares[t] >= bar for t in SMALL if t >= s)]
    large_ok = [s for s in LARGE if all(shares[t] >= bar for t in LARGE if t <= s)]
    print(
        json.dumps(
            {
                "input_size": args.input_size,
                "split": args.split,
                "faces": len(picked),
                "found_share": {str(s): round(v, 3) for s, v in shares.items()},
                "smallest_found_px": min(small_ok) if small_ok else None,
                "largest_found_px": max(large_ok) if large_ok else None,
                "found_share_bar": round(bar, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
