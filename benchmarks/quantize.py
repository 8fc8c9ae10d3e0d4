"""FP32 against static INT8 (ONNX Runtime, QDQ and QOperator) for the classifier and the face detector.

    python benchmarks/quantize.py [--crops build/crops] [--voc ../shared/data/andrewmvd ../shared/data/jolignier]
        [--out-dir build/int8] [--calib-crops 300] [--calib-photos 40] [--fast-size 416]
        [--detectors retinaface_mnet025 retinaface_mnet025_ft ...] [--skip-classifier]

Calibration: --calib-crops crops of the crop set's train split (the same number per class) for the classifier,
--calib-photos train-split photos of the VOC sources (each at the fast and the accurate detector size) for the
detector. Accuracy: crop accuracy on the crop set's val split; mAP@0.5 (mask, no_mask; incorrect scored as
no_mask) of the whole pipeline on the VOC photos of the val split, at the fast and the accurate size.
Speed: one thread, models warm, the formats interleaved round by round (a load change hits all alike);
classifier median ms per batch of 1 and of 16 crops, detector median ms per photo (session.run only).

Detectors: every detector named by --detectors (default: each shipped one whose file is there; the first is the
baseline) in FP32 and both INT8 formats, all timed in the same interleaved rounds, each scored with its own box
calibration. Each INT8 copy is judged against its own FP32 model (the bar) and also compared with the baseline's
FP32 model (`speedup_vs_baseline_fp32`, `map_vs_baseline_fp32`): what a switch of the default would change.
The classifier's INT8 figures use the first detector in FP32.

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
from maskwatch.detect import BoxCalibration, RetinaFaceDetector
from maskwatch.detect.models import MODELS, resolve_detector
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


def pipeline_map(
    annotations, detector_path: Path, classifier_path: Path, size: int, calibration: Path | None = None
) -> float:
    calibrated = BoxCalibration.load(calibration) if calibration is not None else BoxCalibration.load()
    pipe = MaskPipeline(
        RetinaFaceDetector(detector_path, input_size=size, min_score=0.05, threads=1),
        MaskClassifier(classifier_path, threads=1),
        calibrated,
    )
    preds = pipeline_predictions(annotations, pipe)
    return round(score_predictions(preds, annotations, ("mask", "no_mask"), 0.5, incorrect="no_mask").map_primary, 4)


def parse_args() -> argparse.Namespace:
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
    ap.add_argument(
        "--detectors",
        nargs="*",
        default=None,
        help="detectors compared (shipped names or ONNX paths, FP32 and INT8 of each; default: every "
        "shipped detector whose file is there); the first is the baseline",
    )
    ap.add_argument("--skip-classifier", action="store_true", help="measure the detectors only")
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "build" / "int8")
    ap.add_argument("--calib-crops", type=int, default=300)
    ap.add_argument("--calib-photos", type=int, default=40)
    ap.add_argument("--fast-size", type=int, default=416)
    ap.add_argument("--accurate-size", type=int, default=1024)
    ap.add_argument("--speed-photos", type=int, default=30, help="val photos timed per detector size")
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds over the speed photos")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N val photos (0: all)")
    return ap.parse_args()


def measure_classifier(args, crops, annotations, detector: dict, detector_fp32_map: float) -> dict:
    """INT8 copies of the classifier: crop accuracy, speed per batch, pipeline mAP with the FP32 detector, verdict."""
    paths, quant_s = {"fp32": args.classifier}, {}
    for fmt in FORMATS:
        t0 = time.perf_counter()
        paths[fmt] = quantize_classifier(args.classifier, args.out_dir / f"mask_classifier_int8_{fmt}.onnx", crops, fmt)
        quant_s[fmt] = round(time.perf_counter() - t0, 1)
    classifiers = {k: MaskClassifier(p, threads=1) for k, p in paths.items()}
    acc = {
        k: round(100 * evaluate_crops(args.crops, classifier=c).classification.accuracy, 2)
        for k, c in classifiers.items()
    }
    val_rows = read_val_rows(args.crops)
    val_crops = np.stack([read_image(r.path) for r in val_rows[:64]])
    ms = {}
    for batch, rounds in ((1, 6), (16, 6)):
        inputs = [val_crops[i : i + batch] for i in range(0, 64, batch)][:16]
        ms[f"batch{batch}"] = interleaved_medians({k: c.predict for k, c in classifiers.items()}, inputs, rounds)
    cls_map = {
        fmt: pipeline_map(annotations, detector["fp32"], paths[fmt], args.accurate_size, detector["calibration"])
        for fmt in FORMATS
    }
    verdict = {}
    for fmt in FORMATS:
        speedup, lost = ms["batch16"]["fp32"] / ms["batch16"][fmt], acc["fp32"] - acc[fmt]
        map_lost = detector_fp32_map - cls_map[fmt]
        verdict[fmt] = {
            "speedup_batch16": round(speedup, 2),
            "speedup_batch1": round(ms["batch1"]["fp32"] / ms["batch1"][fmt], 2),
            "crop_accuracy_lost_pt": round(lost, 2),
            "pipeline_map_lost": round(map_lost, 4),
            "passes_bar": bool(
                speedup >= BAR["min_speedup"]
                and lost <= BAR["max_crop_accuracy_loss_pt"]
                and map_lost <= BAR["max_map_loss"]
            ),
        }
    return {
        "paths": paths,
        "quantize_seconds": quant_s,
        "n_val_crops": len(val_rows),
        "accuracy": acc,
        "ms": ms,
        "map": cls_map,
        "verdict": verdict,
    }


def quantize_detectors(args, names: list[str], photos, sizes) -> dict[str, dict]:
    """{detector name: {"fp32": path, "qdq": path, "qoperator": path, "calibration": path, "quantize_s": {...}}}"""
    out = {}
    for name in names:
        model = resolve_detector(name)
        if model.name in out:
            raise SystemExit(f"two detectors named {model.name!r}: give the files distinct names")
        entry = {"fp32": model.path, "calibration": model.calibration, "quantize_s": {}}
        for fmt in FORMATS:
            t0 = time.perf_counter()
            entry[fmt] = quantize_detector(
                model.path, args.out_dir / f"{model.path.stem}_int8_{fmt}.onnx", photos, sizes, fmt
            )
            entry["quantize_s"][fmt] = round(time.perf_counter() - t0, 1)
        out[model.name] = entry
    return out


def measure_detectors(args, detectors: dict[str, dict], annotations, sizes) -> tuple[dict, dict]:
    """Median ms per photo (session.run, every detector and format interleaved) and pipeline mAP (FP32 classifier),
    {size: {"name/format": value}}."""
    speed_images = [read_image(Path(a.path)) for a in annotations[: args.speed_photos]]
    keys = [(name, fmt) for name in detectors for fmt in ("fp32", *FORMATS)]
    ms, maps = {}, {}
    for size in sizes:
        dets = {f"{n}/{f}": RetinaFaceDetector(detectors[n][f], input_size=size, threads=1) for n, f in keys}
        first = next(iter(dets.values()))
        blobs = [first.prepare(im)[0] for im in speed_images]
        runs = {k: (lambda blob, d=d: d.session.run(None, {d.input_name: blob})) for k, d in dets.items()}
        ms[str(size)] = interleaved_medians(runs, blobs, args.rounds)
        maps[str(size)] = {
            f"{n}/{f}": pipeline_map(annotations, detectors[n][f], args.classifier, size, detectors[n]["calibration"])
            for n, f in keys
        }
    return ms, maps


def detector_verdicts(names: list[str], ms: dict, maps: dict) -> dict:
    """Per detector and INT8 format, against its own FP32 (the bar) and against the baseline's FP32 (the first)."""
    base = names[0]
    verdict = {}
    for name in names:
        verdict[name] = {}
        for fmt in FORMATS:
            per_size = {}
            for s in ms:
                own, base_fp32, q = f"{name}/fp32", f"{base}/fp32", f"{name}/{fmt}"
                per_size[s] = {
                    "speedup": round(ms[s][own] / ms[s][q], 2),
                    "map_lost": round(maps[s][own] - maps[s][q], 4),
                    "speedup_vs_baseline_fp32": round(ms[s][base_fp32] / ms[s][q], 2),
                    "map_vs_baseline_fp32": round(maps[s][q] - maps[s][base_fp32], 4),
                }
            verdict[name][fmt] = {
                **per_size,
                "passes_bar": all(
                    v["speedup"] >= BAR["min_speedup"] and v["map_lost"] <= BAR["max_map_loss"]
                    for v in per_size.values()
                ),
            }
    return verdict


def classifier_figures(args: argparse.Namespace, annotations: list, detector: dict, fp32_map: float) -> dict:
    """The classifier's INT8 copies measured: crop accuracy, time, pipeline mAP alone and with the INT8 detector."""
    sizes = (args.fast_size, args.accurate_size)
    crops = sample_crops(args.crops, args.calib_crops, "train")
    cls = measure_classifier(args, crops, annotations, detector, fp32_map)
    both = {
        str(size): {
            fmt: pipeline_map(annotations, detector[fmt], cls["paths"][fmt], size, detector["calibration"])
            for fmt in FORMATS
        }
        for size in sizes
    }
    return {
        "n_val_crops": cls["n_val_crops"],
        "classifier_crop_accuracy_pct": cls["accuracy"],
        "classifier_median_ms": cls["ms"],
        "pipeline_map_with_int8_classifier": {"size": args.accurate_size, **cls["map"]},
        "pipeline_map_with_both_int8": both,
        "classifier_quantize_seconds": cls["quantize_seconds"],
        "classifier_verdict": cls["verdict"],
    }


def main() -> None:
    args = parse_args()
    cv2.setNumThreads(1)
    sizes = (args.fast_size, args.accurate_size)
    manifest = args.crops / "manifest.csv"
    names = args.detectors or [n for n, m in MODELS.items() if m.path.is_file()]
    photos = sample_photos(args.crops, args.calib_photos, "train", sources=tuple(p.name for p in args.voc))
    annotations, _ = load_annotations(args.voc, manifest)
    annotations = annotations[: args.limit] if args.limit else annotations
    detectors = quantize_detectors(args, names, photos, sizes)
    det_ms, det_map = measure_detectors(args, detectors, annotations, sizes)
    verdict = detector_verdicts(list(detectors), det_ms, det_map)
    first = next(iter(detectors))
    legacy_ms = {s: {f: v[f"{first}/{f}"] for f in ("fp32", *FORMATS)} for s, v in det_ms.items()}
    legacy_map = {s: {f: v[f"{first}/{f}"] for f in ("fp32", *FORMATS)} for s, v in det_map.items()}
    out = {
        "benchmark": "quantize",
        "classifier": str(args.classifier),
        "detector": str(detectors[first]["fp32"]),
        "calibration": {
            "crops": 0 if args.skip_classifier else args.calib_crops,
            "photos": len(photos),
            "photo_sizes": list(sizes),
            "method": "MinMax",
            "weights": "int8 per-channel",
            "activations": "uint8",
        },
        "quantize_seconds": {n: d["quantize_s"] for n, d in detectors.items()},
        "n_val_photos": len(annotations),
        "threads": 1,
        "loadavg_1min": round(os.getloadavg()[0], 2),
        "detector_median_ms": legacy_ms,
        "pipeline_map_with_int8_detector": legacy_map,
        "detectors": {n: {k: str(v) for k, v in d.items() if k in ("fp32", *FORMATS)} for n, d in detectors.items()},
        "detectors_median_ms": det_ms,
        "detectors_pipeline_map": det_map,
        "bar": BAR,
        "verdict": {"detector": verdict[first], "detectors": verdict},
    }
    if not args.skip_classifier:
        out.update(classifier_figures(args, annotations, detectors[first], legacy_map[str(args.accurate_size)]["fp32"]))
        out["verdict"]["classifier"] = out.pop("classifier_verdict")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
