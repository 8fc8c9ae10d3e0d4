"""What benchmarks/live.py measures inside the running service: CPU seconds per thread group (from /proc), wall time
inside some methods of its parts, the counters a measured window is the difference of, and percentiles."""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path


def thread_cpu_seconds() -> dict[int, float]:
    """CPU seconds (user + system) per native thread id of this process, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def thread_groups() -> dict[int, str]:
    """Native thread id -> decode (reader threads and FFmpeg's own av:* decoder threads) / analyser / other
    (ONNX Runtime's pool threads and the rest)."""
    groups = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            if Path(f"/proc/self/task/{tid}/comm").read_text().startswith("av:"):
                groups[int(tid)] = "decode"
        except OSError:
            continue
    for t in threading.enumerate():
        if t.native_id is not None and (t.name.startswith("camera-") or t.name.startswith("analyser")):
            groups[t.native_id] = "decode" if t.name.startswith("camera-") else "analyser"
    return groups


def cpu_by_group(before: dict[int, float], after: dict[int, float], groups: dict[int, str]) -> dict[str, float]:
    totals = {"decode": 0.0, "analyser": 0.0, "other": 0.0}
    for tid, cpu in after.items():
        totals[groups.get(tid, "other")] += cpu - before.get(tid, 0.0)
    return {k: round(v, 2) for k, v in totals.items()}


class Stopwatch:
    """Wall seconds, images and results inside some methods of a real part (wrapped; the part itself is unchanged).

    Only the outermost call counts (detect_batch may call detect); a list argument counts as that many images.
    """

    def __init__(self, obj, *names: str):
        self.seconds, self.calls, self.items, self._depth = 0.0, 0, 0, 0
        self.wrapped = [name for name in names if callable(getattr(obj, name, None))]  # none: another backend
        for name in self.wrapped:
            setattr(obj, name, self._wrap(getattr(obj, name)))

    def _wrap(self, fn):
        def timed(*args, **kwargs):
            self._depth += 1
            t0 = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
                if self._depth == 1:
                    self.calls += len(args[0]) if isinstance(args[0], list) else 1
                    self.items += sum(len(r) for r in result) if isinstance(result, list) else len(result)
                return result
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds += time.perf_counter() - t0

        return timed


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def sample_threads(seconds: float) -> tuple[dict[int, float], dict[int, float], dict[int, str], float]:
    """CPU seconds per thread at the start and the end of `seconds` of wall time, sampled every 0.5 s because a
    looping file's decoder threads end at each restart; their groups; the wall seconds the window lasted."""
    threads0, w0 = thread_cpu_seconds(), time.monotonic()
    threads1, groups = dict(threads0), thread_groups()
    while time.monotonic() - w0 < seconds:
        time.sleep(min(0.5, max(0.0, seconds - (time.monotonic() - w0))))
        threads1.update(thread_cpu_seconds())
        groups.update(thread_groups())
    return threads0, threads1, groups, time.monotonic() - w0


def read_counters(service, detect: Stopwatch, predict: Stopwatch, track: Stopwatch) -> dict:
    """The service's per-camera status and the parts' stopwatches at one moment."""
    return {
        "status": {c["name"]: c for c in service.camera_status()},
        "detect": (detect.seconds, detect.calls, detect.items),
        "predict": (predict.seconds, predict.calls, predict.items),
        "track": track.seconds,
        "times": os.times(),
        "at": time.time(),
    }
