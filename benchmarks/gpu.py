"""How many 720p cameras one GPU holds with the PyTorch backend (frames of all cameras batched).

    PYTHONPATH=src python benchmarks/gpu.py --video build/live/cam0.mp4 [--device cuda] [--input-size 640] \
        [--half] [--profile]

Prints one JSON line: per batch size, frames analysed per second end to end (upload, resize, detect,
decode, NMS, crop, classify) and the cameras that rate holds at 5 and 15 analysed fps; CPU decode
rate of 720p H.264/MPEG-4 per core, which bounds the cameras a machine can feed. --profile also prints
a cProfile of 10 batches of the largest size to stderr (on a GPU, waits for it show in the syncing calls).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np
import torch

from maskwatch.accel import TorchBatchPipeline


def open_single_threaded(path: str) -> cv2.VideoCapture:
    return cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])


def decode_frames(path: str, size=(1280, 720), limit: int = 240) -> list[np.ndarray]:
    cap, frames = open_single_threaded(path), []
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, size) if frame.shape[1::-1] != size else frame)
    return frames


def decode_for(path: str, seconds: float) -> int:
    """Frames one single-threaded decoder gets through in `seconds`, looping the file."""
    cap, n, t0 = open_single_threaded(path), 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        ok = cap.grab() and cap.retrieve()[0]
        if not ok:
            cap = open_single_threaded(path)
            continue
        n += 1
    return n


def parallel_decode_fps(path: str, processes: int, seconds: float = 4.0) -> float:
    with ProcessPoolExecutor(processes) as pool:
        return sum(pool.map(decode_for, [path] * processes, [seconds] * processes)) / seconds


def measure(pipe: TorchBatchPipeline, frames: list[np.ndarray], batch: int, seconds: float, sync) -> dict:
    for _ in range(3):
        pipe.analyze_batch(frames[:batch])
    sync()
    n, faces, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        start = (n * batch) % (len(frames) - batch + 1)
        faces += sum(len(d) for d in pipe.analyze_batch(frames[start : start + batch]))
        n += 1
    sync()
    elapsed = time.perf_counter() - t0
    fps = n * batch / elapsed
    return {
        "batch": batch,
        "frames_per_s": round(fps, 1),
        "ms_per_batch": round(1000 * elapsed / n, 2),
        "faces_per_frame": round(faces / (n * batch), 2),
        "cameras_at_5fps": int(fps // 5),
        "cameras_at_15fps": int(fps // 15),
    }


def print_profile(pipe: TorchBatchPipeline, frames: list[np.ndarray], sync, batches: int = 10) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(batches):
        pipe.analyze_batch(frames)
    sync()
    profile.disable()
    pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(20)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--video", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batches", default="1,8,16,32,64")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--half", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument(
        "--input-size", type=int, default=640, help="detector input (long side); the service's default is 640"
    )
    args = ap.parse_args()
    cv2.setNumThreads(1)
    frames = decode_frames(args.video)
    pipe = TorchBatchPipeline(device=args.device, half=args.half, input_size=args.input_size)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    rows = [measure(pipe, frames, int(b), args.seconds, sync) for b in args.batches.split(",") if int(b) <= len(frames)]
    best = max(rows, key=lambda r: r["frames_per_s"])
    if args.profile:
        print_profile(pipe, frames[: max(r["batch"] for r in rows)], sync)
    decode_one, decode_all = parallel_decode_fps(args.video, 1), parallel_decode_fps(args.video, os.cpu_count() or 1)
    print(
        json.dumps(
            {
                "benchmark": "gpu",
                "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
                "torch": torch.__version__,
                "half": args.half,
                "frame": "1280x720",
                "detector_input": pipe.input_size,
                "decode_fps_one_core_720p": round(decode_one, 1),
                "cpu_cores": os.cpu_count(),
                "decode_fps_all_cores_720p": round(decode_all, 1),
                "cameras_decoded_at_15fps": int(decode_all // 15),
                "rows": rows,
                "max_cameras_at_5fps": best["cameras_at_5fps"],
                "max_cameras_at_15fps": best["cameras_at_15fps"],
            }
        )
    )


if __name__ == "__main__":
    main()
