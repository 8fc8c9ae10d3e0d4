"""Cameras analysed on this machine: a reader thread per camera and a few analysis threads (scale.analysis_threads),
each for its share of the cameras, which run the detector once for the new frames of all their cameras (the batch
is what lets one machine serve many cameras), then each camera's analyser on its own frame. With two threads one
can run the models (which leave Python's lock) while the other tracks and judges, where the cores allow. Used by
the service and by each Ray shard."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from maskwatch.analysis import render
from maskwatch.analysis.analyser import AnalysisOutput, CameraAnalyser, FrameResult, region_settings
from maskwatch.analysis.finder import find_faces
from maskwatch.backends import Pipeline, backend
from maskwatch.config import AppConfig, CameraConfig, ZoneConfig
from maskwatch.core.records import CameraStatus
from maskwatch.events.times import iso
from maskwatch.sources import CameraReader, Frame, describe

log = logging.getLogger(__name__)


class CameraGroup(Protocol):
    """Cameras being analysed, here (LocalCameras) or on a Ray cluster (maskwatch.scale.RayCameras)."""

    def status(self) -> list[CameraStatus]: ...

    def latest_jpeg(self, camera: str, annotated: bool) -> bytes | None: ...

    def result_delays(self, camera: str, since: float) -> list[float]: ...

    def set_zones(self, camera: str, zones: list[ZoneConfig]) -> None: ...

    def providers(self) -> list[str]: ...


@dataclass
class LiveCamera:
    """A camera's reader, analyser and last analysed frame (for its status and the live view)."""

    config: CameraConfig
    reader: CameraReader
    analyser: CameraAnalyser
    blur_method: str | None  # hide faces in the live view with it; None: shown
    lock: threading.Lock = field(default_factory=threading.Lock)
    frame: Frame | None = None
    result: FrameResult | None = None
    analysed_at: deque = field(default_factory=lambda: deque(maxlen=30))
    delays: deque = field(default_factory=lambda: deque(maxlen=2048))  # (result time, seconds from decode to result)
    next_due: float = 0.0
    jpeg_cache: dict = field(default_factory=dict)

    def analysed(self, frame: Frame, result: FrameResult) -> None:
        done = time.time()
        with self.lock:
            self.frame, self.result = frame, result
            self.analysed_at.append(done)
            self.delays.append((done, done - frame.time))
            self.jpeg_cache = {}

    def fps_analysed(self) -> float:
        times = list(self.analysed_at)
        if len(times) < 2 or time.time() - times[-1] > 5.0:
            return 0.0
        return (len(times) - 1) / max(1e-6, times[-1] - times[0])

    def status(self) -> CameraStatus:
        s, a = self.reader.stats, self.analyser
        with self.lock:
            result = self.result if s.online else None  # an offline camera's last counts would describe the past
            return CameraStatus(
                name=self.config.name,
                enabled=True,
                online=s.online,
                fps_analysed=round(self.fps_analysed(), 2),
                frames_decoded=s.frames_decoded,
                frames_skipped=s.frames_skipped,
                frames_dropped=self.reader.slot.dropped,
                frames_analysed=a.frames_analysed,
                frames_detected=a.frames_detected,
                faces=len(result.faces) if result else 0,
                masked=result.masked if result else 0,
                unmasked=result.unmasked if result else 0,
                last_error=s.last_error,
                width=s.width,
                height=s.height,
                source=describe(self.config.source),
                kind=self.config.kind,
                events=a.alerts_raised,
                state_since=iso(s.since),
            )

    def jpeg(self, annotated: bool) -> bytes | None:
        with self.lock:
            frame, result, cached = self.frame, self.result, self.jpeg_cache.get(annotated)
        if frame is None:
            return None
        if cached is not None and cached[0] == frame.seq:
            return cached[1]
        hidden, faces = (result.hidden, result.faces) if result else (None, None)
        zones = self.analyser.drawn_zones
        jpeg = render.live_jpeg(frame.image, hidden, faces, zones, frame.time, annotated, self.blur_method)
        with self.lock:
            if jpeg is not None and self.frame is frame:
                self.jpeg_cache[annotated] = (frame.seq, jpeg)
        return jpeg


class LocalCameras:
    """The enabled cameras of `config`, analysed by `pipeline`; their records go to `output`; `clips`: the cameras
    whose analysers render clip frames."""

    def __init__(
        self, config: AppConfig, pipeline: Pipeline, output: AnalysisOutput, clips: frozenset[str] = frozenset()
    ):
        self.config, self.pipeline = config, pipeline
        names = [cam.name for cam in config.cameras if cam.enabled]
        threads = config.scale.analysis_threads
        self.shares = [names[i::threads] for i in range(min(threads, len(names)))] or [[]]  # camera names per loop
        self._stop_event = threading.Event()
        self._frame_ready = [threading.Event() for _ in self.shares]  # per loop: a camera of its share has a frame
        blur = config.privacy.blur_method if config.privacy.blur_live else None
        self.cameras: dict[str, LiveCamera] = {}
        for index, share in enumerate(self.shares):
            for name in share:
                cam = config.camera(name)
                analyser = CameraAnalyser(cam, config, pipeline, output, clips=name in clips)
                self.cameras[name] = LiveCamera(cam, self._reader(cam, self._frame_ready[index]), analyser, blur)
        self.loops: list[threading.Thread] = []
        self.beats = [time.monotonic()] * len(self.shares)  # when each analysis loop last went round

    def _reader(self, cam: CameraConfig, ready: threading.Event) -> CameraReader:
        regions = region_settings(self.config.detector)
        return CameraReader(
            cam.name,
            cam.source,
            cam.kind,
            cam.fps,
            cam.loop,
            backoff_max=cam.reconnect_max_seconds,
            on_frame=ready.set,
            max_pixels=cam.max_pixels,
            thumb_factors=(regions.thumb_factor,) if regions is not None else (),
        )

    def start(self) -> None:
        self._stop_event.clear()
        for cam in self.cameras.values():
            cam.reader.start()
        self.loops = [
            threading.Thread(target=self._run, args=(i,), name="analyser" if i == 0 else f"analyser-{i}", daemon=True)
            for i in range(len(self.shares))
        ]
        for loop in self.loops:
            loop.start()

    def stop(self, timeout: float) -> None:
        """Stops the readers and the analysis loops (waiting up to `timeout` for them)."""
        self._stop_event.set()
        for ready in self._frame_ready:
            ready.set()
        for cam in self.cameras.values():
            cam.reader.stop()
        deadline = time.monotonic() + timeout
        for loop in self.loops:
            loop.join(max(0.0, deadline - time.monotonic()))

    def join_readers(self, deadline: float) -> None:
        for cam in self.cameras.values():
            cam.reader.join(max(0.0, min(0.3, deadline - time.monotonic())))

    def alive(self) -> bool:
        return bool(self.loops) and all(loop.is_alive() for loop in self.loops)

    @property
    def beat(self) -> float:
        """When the slowest analysis loop last went round."""
        return min(self.beats)

    def _run(self, index: int) -> None:
        share = [self.cameras[name] for name in self.shares[index]]
        ready = self._frame_ready[index]
        while not self._stop_event.is_set():
            self.beats[index] = time.monotonic()
            ready.clear()
            batch = self._due(share, time.monotonic())
            if not batch:
                ready.wait(0.05)
                continue
            try:
                found = find_faces([(c.analyser.finder, f) for c, f in batch], self.pipeline)
            except Exception:
                log.exception("analysis failed")
                time.sleep(0.5)
                continue
            for (cam, frame), faces in zip(batch, found, strict=True):
                try:
                    cam.analysed(frame, cam.analyser.analyse(frame, faces))
                except Exception:
                    if self._stop_event.is_set():
                        return  # the outputs may be closed already
                    log.exception("camera %s: processing failed", cam.config.name)

    def _due(self, share: list[LiveCamera], now: float) -> list[tuple[LiveCamera, Frame]]:
        """The cameras of a share with a new frame, each at most `fps` times a second (live sources deliver
        faster)."""
        batch = []
        for cam in share:
            if now >= cam.next_due and (frame := cam.reader.slot.take()) is not None:
                batch.append((cam, frame))
                cam.next_due = now + 0.9 / cam.config.fps
        return batch

    # --- what the service and the web ask --------------------------------------------------------------------

    def status(self) -> list[CameraStatus]:
        return [cam.status() for cam in self.cameras.values()]

    def latest_jpeg(self, camera: str, annotated: bool) -> bytes | None:
        cam = self.cameras.get(camera)
        return cam.jpeg(annotated) if cam else None

    def result_delays(self, camera: str, since: float) -> list[float]:
        cam = self.cameras.get(camera)
        if cam is None:
            return []
        with cam.lock:
            return [delay for done, delay in cam.delays if done >= since]

    def set_zones(self, camera: str, zones: list[ZoneConfig]) -> None:
        cam = self.cameras.get(camera)
        if cam is not None:
            with cam.lock:
                cam.analyser.set_zones(zones)
                cam.jpeg_cache = {}

    def providers(self) -> list[str]:
        return backend(self.config.detector.backend).providers(self.pipeline)
