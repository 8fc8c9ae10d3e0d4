"""Ray mode against one process, on the same machine: N looping 720p cameras through the service, analysed in
this process or by camera shards on a local Ray instance.

    python benchmarks/ray_shards.py --cameras 4 [--shards 1,2] [--seconds 40] [--warmup 12]

Uses benchmarks/live.py's camera files (1280x720 H.264, 15 fps, each camera analysed 5 times a second). Prints
ONE JSON line: per mode, the lowest analysed fps of any camera, frames dropped by the readers, p50/p95 delay from
a frame's decoding to its result, the whole machine's CPU use over the window (from /proc/stat: shards run in
Ray's worker processes, not in this one; 100 = one core), and the seconds from start until every camera has a
result. What it cannot show: throughput across several machines.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live import ANALYSED_FPS, camera_files, make_config, percentile


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent busy (not idle or waiting on I/O) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def run(files: list[Path], shards: int, seconds: float, warmup: float) -> dict:
    from maskwatch.config import AppConfig
    from maskwatch.service.service import Service

    overrides = [f"scale.ray.shards={shards}", "scale.ray.cpus_per_shard=0.1"] if shards else []
    with tempfile.TemporaryDirectory(prefix="maskwatch-ray-") as tmp:
        service = Service(AppConfig.model_validate(make_config(files, Path(tmp), overrides)))
        started = time.monotonic()
        service.start()
        try:
            while not all(c["frames_analysed"] for c in service.camera_status()):
                time.sleep(0.2)
            ready = time.monotonic() - started
            time.sleep(warmup)
            s0 = {c["name"]: c for c in service.camera_status()}
            busy0, t0, w0 = machine_busy_seconds(), time.time(), time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - w0
            busy1 = machine_busy_seconds()
            s1 = {c["name"]: c for c in service.camera_status()}
            delays = [d for name in s1 for d in service.result_delays(name, since=t0)]
        finally:
            service.stop()
    fps = {c: (s1[c]["frames_analysed"] - s0[c]["frames_analysed"]) / wall for c in s1}
    p50, p95 = percentile(delays, 50), percentile(delays, 95)
    return {
        "mode": f"ray, {shards} shard(s)" if shards else "one process",
        "seconds_until_every_camera_analysed": round(ready, 1),
        "analysed_fps_min": round(min(fps.values()), 2),
        "target_fps": ANALYSED_FPS,
        "frames_dropped": sum(s1[c]["frames_dropped"] - s0[c]["frames_dropped"] for c in s1),
        "delay_ms_p50": round(p50 * 1000, 1) if p50 is not None else None,
        "delay_ms_p95": round(p95 * 1000, 1) if p95 is not None else None,
        "machine_cpu_percent": round(100 * (busy1 - busy0) / wall, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--shards", default="1,2", help="comma-separated shard counts to run after the one-process run")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--warmup", type=float, default=12.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    files = camera_files(args.cameras)
    runs = []
    for shards in [0, *(int(s) for s in args.shards.split(","))]:
        runs.append(run(files, shards, args.seconds, args.warmup))
        print(f"ray_shards: {json.dumps(runs[-1])}", file=sys.stderr, flush=True)
    print(
        json.dumps(
            {
                "benchmark": "ray_shards",
                "cameras": args.cameras,
                "camera": "1280x720 H.264 15 fps",
                "cpus": os.cpu_count(),
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
