"""Cameras analysed on this machine: a reader thread per camera and one analysis thread for all of them, which runs
the detector once for the new frames of every camera (the batch is what lets one machine serve many cameras),
then each camera's analyser on its own frame. Used by the service and by each Ray shard."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from maskwatch.analysis import render
from maskwatch.analysis.analyser import AnalysisOutput, CameraAnalyser, FrameResult
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
        self._stop_event, self._frame_ready = threading.Event(), threading.Event()
        blur = config.privacy.blur_method if config.privacy.blur_live else None
        self.cameras: dict[str, LiveCamera] = {}
        for cam in config.cameras:
            if cam.enabled:
                analyser = CameraAnalyser(cam, config, pipeline, output, clips=cam.name in clips)
                self.cameras[cam.name] = LiveCamera(cam, self._reader(cam), analyser, blur)
        self.loop: threading.Thread | None = None
        self.beat = time.monotonic()  # when the analysis loop last went round

    def _reader(self, cam: CameraConfig) -> CameraReader:
        return CameraReader(
            cam.name,
            cam.source,
            cam.kind,
            cam.fps,
            cam.loop,
            backoff_max=cam.reconnect_max_seconds,
            on_frame=self._frame_ready.set,
            max_pixels=cam.max_pixels,
        )

    def start(self) -> None:
        self._stop_event.clear()
        for cam in self.cameras.values():
            cam.reader.start()
        self.loop = threading.Thread(target=self._run, name="analyser", daemon=True)
        self.loop.start()

    def stop(self, timeout: float) -> None:
        """Stops the readers and the analysis loop (waiting up to `timeout` for the loop)."""
        self._stop_event.set()
        self._frame_ready.set()
        for cam in self.cameras.values():
            cam.reader.stop()
        if self.loop:
            self.loop.join(timeout)

    def join_readers(self, deadline: float) -> None:
        for cam in self.cameras.values():
            cam.reader.join(max(0.0, min(0.3, deadline - time.monotonic())))

    def alive(self) -> bool:
        return self.loop is not None and self.loop.is_alive()

    def _run(self) -> None:
        while not self._stop_event.is_set():
            self.beat = time.monotonic()
            self._frame_ready.clear()
            batch = self._due(time.monotonic())
            if not batch:
                self._frame_ready.wait(0.05)
                continue
            try:
                found = find_faces([(c.analyser.finder, f.image, f.time) for c, f in batch], self.pipeline)
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

    def _due(self, now: float) -> list[tuple[LiveCamera, Frame]]:
        """The cameras with a new frame, each at most `fps` times a second (live sources deliver faster)."""
        batch = []
        for cam in list(self.cameras.values()):
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
