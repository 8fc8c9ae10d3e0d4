"""Detector scale settings compared on VOC folders: accuracy and time per image, one thread, interleaved.

    python benchmarks/scales.py build/scenes/wide-train --system fixed:1024 --system planned \
        --system planned:top_scale=2,overlap_in=128 --system slicer:1024 [--limit 100]
    python benchmarks/scales.py ../shared/data/andrewmvd --manifest build/crops/manifest.csv --split train ...

Systems (each the whole pipeline, detector + classifier, faces >= 0.05 as `maskwatch predict`):
- fixed:SIZE      one pass, the long side brought to SIZE (`--input-size SIZE`);
- planned[:k=v,..] the default multi-scale plan (maskwatch.detect.scales.ScaleSettings, fields overridden by k=v);
- slicer:SIZE     supervision's InferenceSlicer (slices of SIZE image px, 0.2 overlap, NMS) at top_scale per slice,
                  plus the plan's whole-image pass, merged by NMS: SAHI-style slicing as supervision does it.
Scored as `maskwatch evaluate voc` (incorrect kept, mAP over mask/no_mask). Each image goes through every system
before the next, so load changes hit all alike. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.detect import RetinaFaceDetector
from maskwatch.detect.multiscale import MultiScaleDetector
from maskwatch.detect.scales import ScaleSettings, level_scales
from maskwatch.detect.tiling import detect_regions, merge_detections

MIN_SCORE = 0.05


class SlicerDetector:
    """supervision's InferenceSlicer over the image at the plan's finest scale, plus the whole-image pass."""

    name = "slicer"

    def __init__(self, base: RetinaFaceDetector, slice_px: int, settings: ScaleSettings):
        import supervision as sv

        self.base, self.settings, self.sv = base, settings, sv
        self.slice_px = slice_px
        self.min_score = base.min_score

    def detect(self, image: np.ndarray, min_score: float | None = None) -> Detections:
        sv = self.sv
        scales = level_scales(image.shape[0], image.shape[1], self.settings)
        whole = detect_regions(
            self.base, image, np.array([[0, 0, image.shape[1], image.shape[0]]]), scales[0], min_score
        )
        if len(scales) == 1:
            return whole
        top = scales[-1]

        def callback(tile: np.ndarray) -> sv.Detections:
            d = self.base.detect_scaled([tile], top, min_score)[0]
            return sv.Detections(
                xyxy=d.xyxy.astype(np.float32), confidence=d.det_scores, class_id=np.zeros(len(d), int)
            )

        slicer = sv.InferenceSlicer(
            callback=callback,
            slice_wh=(self.slice_px, self.slice_px),
            overlap_wh=(int(self.slice_px * 0.2), int(self.slice_px * 0.2)),
            overlap_filter=sv.OverlapFilter.NON_MAX_SUPPRESSION,
            iou_threshold=0.4,
            thread_workers=1,
        )
        sliced = slicer(image)
        tiles = Detections(
            sliced.xyxy.astype(np.float32),
            sliced.confidence.astype(np.float32),
            np.zeros((len(sliced), 5, 2), np.float32),
        )
        return merge_detections([whole, tiles])

    def detect_batch(self, images, min_score=None):
        return [self.detect(im, min_score) for im in images]


def make_system(spec: str, threads: int):
    from maskwatch.classify import MaskClassifier
    from maskwatch.pipeline import MaskPipeline

    kind, _, arg = spec.partition(":")
    base = RetinaFaceDetector(input_size=int(arg) if kind == "fixed" else 1024, min_score=MIN_SCORE, threads=threads)
    if kind == "fixed":
        detector = base
    elif kind == "planned":
        fields = dict(item.split("=") for item in arg.split(",") if item)
        types = {k: type(getattr(ScaleSettings(), k)) for k in fields}
        detector = MultiScaleDetector(base, ScaleSettings(**{k: types[k](v) for k, v in fields.items()}))
    elif kind == "slicer":
        detector = SlicerDetector(base, int(arg or 640), ScaleSettings())
    else:
        raise SystemExit(f"unknown system {spec!r}: fixed:SIZE, planned[:k=v,...] or slicer:SIZE")
    return MaskPipeline(detector, MaskClassifier(threads=threads))


def load(folders: list[Path], manifest: str | None, split: str, limit: int, every: int):
    from maskwatch.evaluate.voc import read_voc_folder, restrict_to_split

    annotations = [a for f in folders for a in read_voc_folder(f)]
    if manifest:
        annotations, _ = restrict_to_split(annotations, Path(manifest), split)
    annotations = annotations[::every]
    return annotations[:limit] if limit else annotations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--system", action="append", default=[], help="fixed:SIZE | planned[:k=v,...] | slicer:SIZE")
    ap.add_argument("--manifest", default=None, help="keep only the images this crop manifest lists under --split")
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--every", type=int, default=1, help="every N-th image only")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    from maskwatch.core.media import read_image
    from maskwatch.evaluate import score_predictions
    from maskwatch.pipeline.files import prediction_entries

    cv2.setNumThreads(1)
    annotations = load(args.folders, args.manifest, args.split, args.limit, args.every)
    specs = args.system or ["fixed:1024", "planned"]
    systems = {spec: make_system(spec, args.threads) for spec in specs}
    first = read_image(Path(annotations[0].path))
    for pipeline in systems.values():
        pipeline.analyze(first, min_score=MIN_SCORE)  # warm-up
    preds = {s: {} for s in systems}
    times = {s: [] for s in systems}
    load_before = os.getloadavg()[0]
    for ann in annotations:
        image = read_image(Path(ann.path))
        for spec, pipeline in systems.items():
            t0 = time.perf_counter()
            dets = pipeline.analyze(image, min_score=MIN_SCORE)
            times[spec].append((time.perf_counter() - t0) * 1000)
            preds[spec][ann.name] = prediction_entries(dets, MIN_SCORE)
    results = {}
    for spec in systems:
        r = score_predictions(preds[spec], annotations)
        c = r.compliance
        results[spec] = {
            "map": round(r.map_primary, 4),
            "face_ap": round(r.face_ap, 4),
            "ap": {k: round(r.curves[k].ap, 4) for k in ("mask", "no_mask", "incorrect")},
            "unmasked_found": round(c.unmasked_recall, 4),
            "masked_flagged": round(c.masked_false_alarm_rate, 4),
            "median_ms": round(float(np.median(times[spec])), 1),
            "mean_ms": round(float(np.mean(times[spec])), 1),
        }
    print(
        json.dumps(
            {
                "benchmark": "scales",
                "folders": [str(f) for f in args.folders],
                "split": args.split if args.manifest else None,
                "n_images": len(annotations),
                "threads": args.threads,
                "loadavg_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "systems": results,
            }
        )
    )


if __name__ == "__main__":
    main()
