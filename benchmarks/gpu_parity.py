"""Does the PyTorch backend on a GPU find the faces the ONNX Runtime pipeline finds on the CPU?

    PYTHONPATH=src python benchmarks/gpu_parity.py CLIP.mp4 ... [--device cuda] [--frame 450]

One frame of each clip (1080p wide scenes: build/scenes/video-val/*.mp4), detected as a whole frame at 640 px and in
the 1x sweep squares over the whole frame plus the whole-frame pass, by `TorchBatchPipeline` (fp32 and fp16) and by
`MaskPipeline` (ONNX Runtime, CPU). Prints one JSON line: per way, the faces each found, those matched at IoU >= 0.9
with the same label, the largest box difference, and the torch backend's time per call for all frames.
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial

import cv2
import numpy as np
import torch

from maskwatch.accel import TorchBatchPipeline
from maskwatch.classify.classifier import DEFAULT_MODEL
from maskwatch.core.detections import Detections
from maskwatch.detect.anchors import box_iou
from maskwatch.detect.regions import Region, sweep_grid
from maskwatch.pipeline import MaskPipeline

INPUT = 640
SWEEP_SIDE, SWEEP_OVERLAP = 256, 0.25  # the service's 1x sweep squares (RegionSettings)


def read_frame(clip: str, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(clip)
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    if not ok:
        raise SystemExit(f"error: {clip}: no frame {index}")
    return frame


def agreement(ours: list[Detections], ref: list[Detections]) -> dict:
    matched = same_label = 0
    shifts = [0.0]
    for a, b in zip(ours, ref, strict=True):
        if not len(a) or not len(b):
            continue
        iou = box_iou(a.xyxy, b.xyxy)
        for i, j in enumerate(iou.argmax(1)):
            if iou[i, j] >= 0.9:
                matched += 1
                same_label += a.labels[i] == b.labels[j]
                shifts.append(float(np.abs(a.xyxy[i] - b.xyxy[j]).max()))
    faces = {"faces_torch": sum(map(len, ours)), "faces_onnxruntime": sum(map(len, ref))}
    return {**faces, "matched_iou09": matched, "same_label": same_label, "max_box_diff_px": round(max(shifts), 3)}


def timed(run, device: str, repeats: int = 5) -> tuple[list[Detections], float]:
    out = run()  # warm-up
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(repeats):
        out = run()
    sync()
    return out, (time.perf_counter() - t0) / repeats * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--frame", type=int, default=450)
    args = ap.parse_args()
    frames = [read_frame(clip, args.frame) for clip in args.clips]
    h, w = frames[0].shape[:2]
    regions = [Region(b, 1.0, "sweep") for b in sweep_grid((h, w), SWEEP_SIDE, SWEEP_OVERLAP)]
    planned = [(frame, [*regions, Region((0, 0, w, h), INPUT / max(h, w), "whole")]) for frame in frames]
    ref = MaskPipeline.from_defaults(input_size=INPUT, classifier_path=DEFAULT_MODEL)  # the FP32 file torch runs
    want = {"whole": ref.analyze_batch(frames), "regions": ref.analyze_regions(planned)}
    device = torch.cuda.get_device_name(0) if args.device == "cuda" else args.device
    out: dict = {"benchmark": "gpu_parity", "device": device, "torch": torch.__version__, "frames": len(frames)}
    out["regions_per_frame"] = len(planned[0][1])
    for half in (False, True) if args.device == "cuda" else (False,):
        pipe = TorchBatchPipeline(device=args.device, input_size=INPUT, half=half)
        runs = {"whole": (pipe.analyze_batch, frames), "regions": (pipe.analyze_regions, planned)}
        for way, (method, inputs) in runs.items():
            got, ms = timed(partial(method, inputs), args.device)
            out[f"{way}_{'fp16' if half else 'fp32'}"] = {**agreement(got, want[way]), "ms_per_call": round(ms, 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
