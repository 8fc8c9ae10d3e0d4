"""How much a face box one pixel off moves the hashes that group near-duplicates (and so the train/val split):
the check behind issue 21's 'different split on another machine'.

    python benchmarks/split_sensitivity.py --manifest build/crops/manifest.csv [--faces 300] [--seed 0]

For a random sample of the manifest's faces, the upper-face hash (maskwatch.data.hashing) of the crop at the stored
box and at the box moved by 1 px; and, over the build's hashes.npz, how many face pairs sit at each Hamming distance
near the grouping threshold (UPPER_FACE_BITS), where such a change joins or parts two groups. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

import cv2
import numpy as np

from maskwatch.classify.crop import face_crop
from maskwatch.data.hashing import UPPER_FACE_BITS, close_pairs, pair_distances, phash, upper_face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--faces", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = list(csv.DictReader(args.manifest.open()))
    sample = random.Random(args.seed).sample(range(len(rows)), min(args.faces, len(rows)))
    changed, bits = 0, []
    for i in sample:
        image = cv2.imread(rows[i]["image"])
        if image is None:
            continue
        box = np.array(rows[i]["box"].split(), np.float32)
        here = phash(upper_face(face_crop(image, box)))
        there = phash(upper_face(face_crop(image, box + np.float32(1))))
        bits.append(int(np.bitwise_count(np.uint64(here) ^ np.uint64(there))))
        changed += bits[-1] > 0
    result: dict = {"faces": len(sample), "hash_changed": changed, "mean_bits_changed": float(np.mean(bits))}
    hashes = args.manifest.parent / "hashes.npz"
    if hashes.is_file():
        upper = np.load(hashes)["upper_hash"]
        upper = upper[upper != 0]
        dist = pair_distances(upper, close_pairs(upper, UPPER_FACE_BITS + 4))
        result["pairs_at_distance"] = {str(d): int((dist == d).sum()) for d in range(0, UPPER_FACE_BITS + 5, 2)}
        result["threshold_bits"] = UPPER_FACE_BITS
    print(json.dumps(result))


if __name__ == "__main__":
    main()
