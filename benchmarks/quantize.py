"""FP32 against static INT8 (ONNX Runtime, QDQ and QOperator) for the classifier and the face detector.

    python benchmarks/quantize.py [--crops build/crops] [--voc ../shared/data/andrewmvd ../shared/data/jolignier]
        [--out-dir build/int8] [--calib-crops 300] [--calib-photos 40] [--fast-size 416]

Calibration: --calib-crops crops of the crop set's train split (the same number per class) for the classifier,
--calib-photos train-split photos of the VOC sources (each at the fast and the accurate detector size) for the
detector. Accuracy: crop accuracy on the crop set's val split; mAP@0.5 (mask, no_mask; incorrect scored as
no_mask) of the whole pipeline on the VOC photos of the val split, at the fast and the accurate size.
Speed: one thread, models warm, the formats interleaved round by round (a load change hits all alike);
classifier median ms per batch of 1 and of 16 crops, detector median ms per photo (session.run only).

The bar (issue 4): >= 1.5x faster, <= 0.5 points of crop accuracy lost, <= 0.01 mAP lost. The INT8 models are
written under --out-dir (build/, not committed); `passes_bar` says whether each one may replace FP32.
Prints one JSON line.
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

from maskwatch.classify import MaskClassifier
from maskwatch.classify.classifier import DEFAULT_MODEL as CLASSIFIER_FP32
from maskwatch.core.media import read_image
from maskwatch.core.paths import REPO_ROOT
from maskwatch.detect import RetinaFaceDetector
from maskwatch.detect.retinaface import DEFAULT_MODEL as DETECTOR_FP32
from maskwatch.evaluate import evaluate_crops, load_annotations, score_predictions
from maskwatch.evaluate.crops import read_val_rows
from maskwatch.evaluate.voc import pipeline_predictions
from maskwatch.optimize import quantize_classifier, quantize_detector, sample_crops, sample_photos
from maskwatch.pipeline import MaskPipeline

FORMATS = ("qdq", "qoperator")
BAR = {"min_speedup": 1.5, "max_crop_accuracy_loss_pt": 0.5, "max_map_loss": 0.01}


def interleaved_medians(runs: dict[str, callable], inputs: list, rounds: int) -> dict[str, float]:
    """Median ms per call of each runner: every round runs each runner on every input, runners interleaved."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    for fn in runs.values():
        fn(inputs[0])  # warm-up
    for _ in range(rounds):
        for x in inputs:
            for name, fn in runs.items():
                t0 = time.perf_counter()
                fn(x)
                times[name].append((time.perf_counter() - t0) * 1000)
    return {k: round(float(np.median(v)), 3) for k, v in times.items()}


def pipeline_map(annotations, detector_path: Path, classifier_path: Path, size: int) -> float:
    pipe = MaskPipeline(
        RetinaFaceDetector(detector_path, input_size=size, min_score=0.05, threads=1),
        MaskClassifier(classifier_path, threads=1),
    )
    preds = pipeline_predictions(annotations, pipe)
    return round(score_predictions(preds, annotations, ("mask", "no_mask"), 0.5, incorrect="no_mask").map_primary, 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crops", type=Path, default=REPO_ROOT / "build" / "crops", help="crop set (manifest.csv)")
    ap.add_argument(
        "--voc",
        type=Path,
        nargs="+",
        default=[
            REPO_ROOT.parent / "shared" / "data" / "andrewmvd",
            REPO_ROOT.parent / "shared" / "data" / "jolignier",
        ],
    )
    ap.add_argument("--classifier", type=Path, default=CLASSIFIER_FP32)
    ap.add_argument("--detector", type=Path, default=DETECTOR_FP32)
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "build" / "int8")
    ap.add_argument("--calib-crops", type=int, default=300)
    ap.add_argument("--calib-photos", type=int, default=40)
    ap.add_argument("--fast-size", type=int, default=416)
    ap.add_argument("--accurate-size", type=int, default=1024)
    ap.add_argument("--speed-photos", type=int, default=30, help="val photos timed per detector size")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N val photos (0: all)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    sizes = (args.fast_size, args.accurate_size)
    manifest = args.crops / "manifest.csv"
    voc_sources = tuple(p.name for p in args.voc)

    # ---- quantise ----
    crops = sample_crops(args.crops, args.calib_crops, "train")
    photos = sample_photos(args.crops, args.calib_photos, "train", sources=voc_sources)
    cls_paths = {"fp32": args.classifier}
    det_paths = {"fp32": args.detector}
    quant_s = {}
    for fmt in FORMATS:
        t0 = time.perf_counter()
        cls_paths[fmt] = quantize_classifier(
            args.classifier, args.out_dir / f"mask_classifier_int8_{fmt}.onnx", crops, fmt
        )
        t1 = time.perf_counter()
        det_paths[fmt] = quantize_detector(
            args.detector, args.out_dir / f"retinaface_int8_{fmt}.onnx", photos, sizes, fmt
        )
        quant_s[fmt] = {"classifier_s": round(t1 - t0, 1), "detector_s": round(time.perf_counter() - t1, 1)}

    # ---- classifier: accuracy on val crops, speed per batch ----
    classifiers = {k: MaskClassifier(p, threads=1) for k, p in cls_paths.items()}
    cls_acc = {
        k: round(100 * evaluate_crops(args.crops, classifier=c).classification.accuracy, 2)
        for k, c in classifiers.items()
    }
    val_rows = read_val_rows(args.crops)
    val_crops = np.stack([read_image(r.path) for r in val_rows[:64]])
    cls_ms = {}
    for batch, rounds in ((1, 6), (16, 6)):
        inputs = [val_crops[i : i + batch] for i in range(0, 64, batch)][:16]
        med = interleaved_medians({k: c.predict for k, c in classifiers.items()}, inputs, rounds)
        cls_ms[f"batch{batch}"] = med

    # ---- detector: speed per photo at both sizes, pipeline mAP ----
    annotations, _ = load_annotations(args.voc, manifest)
    annotations = annotations[: args.limit] if args.limit else annotations
    speed_images = [read_image(Path(a.path)) for a in annotations[: args.speed_photos]]
    det_ms = {}
    for size in sizes:
        dets = {k: RetinaFaceDetector(p, input_size=size, threads=1) for k, p in det_paths.items()}
        blobs = [dets["fp32"].prepare(im)[0] for im in speed_images]
        runs = {k: (lambda blob, d=d: d.session.run(None, {d.input_name: blob})) for k, d in dets.items()}
        det_ms[str(size)] = interleaved_medians(runs, blobs, 3)
    det_map = {
        str(size): {k: pipeline_map(annotations, p, args.classifier, size) for k, p in det_paths.items()}
        for size in sizes
    }
    both_map = {
        str(size): {fmt: pipeline_map(annotations, det_paths[fmt], cls_paths[fmt], size) for fmt in FORMATS}
        for size in sizes
    }
    cls_map = {fmt: pipeline_map(annotations, args.detector, cls_paths[fmt], args.accurate_size) for fmt in FORMATS}

    # ---- verdicts ----
    verdict = {"classifier": {}, "detector": {}}
    for fmt in FORMATS:
        speedup = cls_ms["batch16"]["fp32"] / cls_ms["batch16"][fmt]
        lost = cls_acc["fp32"] - cls_acc[fmt]
        map_lost = det_map[str(args.accurate_size)]["fp32"] - cls_map[fmt]
        verdict["classifier"][fmt] = {
            "speedup_batch16": round(speedup, 2),
            "speedup_batch1": round(cls_ms["batch1"]["fp32"] / cls_ms["batch1"][fmt], 2),
            "crop_accuracy_lost_pt": round(lost, 2),
            "pipeline_map_lost": round(map_lost, 4),
            "passes_bar": bool(
                speedup >= BAR["min_speedup"]
                and lost <= BAR["max_crop_accuracy_loss_pt"]
                and map_lost <= BAR["max_map_loss"]
            ),
        }
        per_size = {}
        for size in sizes:
            s = str(size)
            per_size[s] = {
                "speedup": round(det_ms[s]["fp32"] / det_ms[s][fmt], 2),
                "map_lost": round(det_map[s]["fp32"] - det_map[s][fmt], 4),
            }
        verdict["detector"][fmt] = {
            **per_size,
            "passes_bar": all(
                v["speedup"] >= BAR["min_speedup"] and v["map_lost"] <= BAR["max_map_loss"] for v in per_size.values()
            ),
        }
    print(
        json.dumps(
            {
                "benchmark": "quantize",
                "classifier": str(args.classifier),
                "detector": str(args.detector),
                "calibration": {
                    "crops": len(crops),
                    "photos": len(photos),
                    "photo_sizes": list(sizes),
                    "method": "MinMax",
                    "weights": "int8 per-channel",
                    "activations": "uint8",
                },
                "quantize_seconds": quant_s,
                "n_val_crops": len(val_rows),
                "n_val_photos": len(annotations),
                "threads": 1,
                "loadavg_1min": round(os.getloadavg()[0], 2),
                "classifier_crop_accuracy_pct": cls_acc,
                "classifier_median_ms": cls_ms,
                "pipeline_map_with_int8_classifier": {"size": args.accurate_size, **cls_map},
                "detector_median_ms": det_ms,
                "pipeline_map_with_int8_detector": det_map,
                "pipeline_map_with_both_int8": both_map,
                "bar": BAR,
                "verdict": verdict,
                "int8_models": {
                    k: str(v)
                    for k, v in {
                        **{f"classifier_{f}": cls_paths[f] for f in FORMATS},
                        **{f"detector_{f}": det_paths[f] for f in FORMATS},
                    }.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
