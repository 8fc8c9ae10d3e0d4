"""One reader thread per camera: keeps only the newest frame, reconnects with backoff, never blocks analysis."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.media import grey_thumbnail
from maskwatch.sources.http_frames import http_frame_size

log = logging.getLogger(__name__)
DEFAULT_MAX_PIXELS = 3840 * 2160  # 4K: cameras[].max_pixels


@dataclass
class Frame:
    image: np.ndarray
    seq: int  # 1, 2, 3 ... per camera
    time: float  # wall clock (time.time()) when decoded
    thumbs: dict[int, np.ndarray] = field(default_factory=dict)  # grey_thumbnail by factor, made beside decoding
    opening: int = 0  # which opening of the source it came from (1, 2, ... per camera: each reconnect opens it anew)


class FrameSlot:
    """A 1-slot buffer: put() overwrites; a frame overwritten before anyone took it counts as dropped."""

    def __init__(self, on_put: Callable[[], None] | None = None):
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._taken = True
        self.dropped = 0
        self._on_put = on_put

    def put(self, frame: Frame) -> None:
        with self._lock:
            if not self._taken:
                self.dropped += 1
            self._frame, self._taken = frame, False
        if self._on_put:
            self._on_put()

    def take(self) -> Frame | None:
        """The newest frame not taken yet, or None."""
        with self._lock:
            if self._taken:
                return None
            self._taken = True
            return self._frame

    def peek(self) -> Frame | None:
        with self._lock:
            return self._frame


@dataclass
class SourceStats:
    online: bool = False
    frames_decoded: int = 0  # delivered to the slot
    frames_skipped: int = 0  # files: decoded (grab) but not delivered, beyond the `fps` analysed a second
    reconnects: int = 0
    last_error: str | None = None
    width: int = 0
    height: int = 0
    since: float = field(default_factory=time.time)


def open_capture(source: str | int, kind: str, timeout_ms: int = 5000) -> cv2.VideoCapture:
    if kind == "webcam":
        return cv2.VideoCapture(int(source) if str(source).isdigit() else str(source))
    if kind == "rtsp":
        # RTP over the RTSP TCP connection: no UDP port probing, no lost packets smearing frames, works through NAT
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
    if kind == "file":
        return cv2.VideoCapture(str(source), cv2.CAP_ANY, params)
    return cv2.VideoCapture(str(source), cv2.CAP_FFMPEG, params)


def describe(source: str | int) -> str:
    """The source for logs and the UI, without a password in a URL."""
    text = str(source)
    if "://" in text and "@" in text.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = text.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return text


class CameraReader(threading.Thread):
    """Decodes one source into a FrameSlot.

    Files play in real time at their own frame rate, delivering at most `fps` frames a second (frames in
    between are skipped by grab()), and loop; live sources are read as fast as they deliver. Any failure
    marks the camera offline and reconnects after a backoff that doubles up to `backoff_max`. Each frame comes
    with its grey thumbnails at `thumb_factors` (for motion), made in this thread.
    """

    def __init__(
        self,
        name: str,
        source: str | int,
        kind: str,
        fps: float,
        loop: bool = True,
        backoff_start: float = 0.5,
        backoff_max: float = 10.0,
        on_frame: Callable[[], None] | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        thumb_factors: tuple[int, ...] = (),
    ):
        super().__init__(name=f"camera-{name}", daemon=True)
        self.camera = name
        self.source, self.kind, self.fps, self.loop = source, kind, fps, loop
        self.backoff_start, self.backoff_max = backoff_start, backoff_max
        self.slot = FrameSlot(on_frame)
        self.max_pixels = max_pixels
        self.thumb_factors = thumb_factors  # thumbnails made here, off the analysis loop, which needs them
        self._cap: cv2.VideoCapture | None = None
        self.stats = SourceStats()
        self._stop_event = threading.Event()
        self._seq = 0
        self._opening = 0  # openings of the source that delivered a capture (Frame.opening)

    def stop(self) -> None:
        self._stop_event.set()

    def _set_offline(self, error: str) -> None:
        if self.stats.online or self.stats.last_error != error:
            log.warning("camera %s offline: %s", self.camera, error)
        self.stats.online, self.stats.last_error, self.stats.since = False, error, time.time()

    def run(self) -> None:
        backoff = self.backoff_start
        while not self._stop_event.is_set():
            try:
                delivered = self._read_until_failure()
            except Exception as err:  # noqa: BLE001 (a broken decoder must not end the thread)
                delivered = False
                self._set_offline(f"{type(err).__name__}: {err}")
            if self._stop_event.is_set():
                break
            backoff = self.backoff_start if delivered else min(backoff * 2, self.backoff_max)
            self.stats.reconnects += 1
            self._stop_event.wait(backoff)
        self.stats.online = False

    def _read_until_failure(self) -> bool:
        """Reads until the source fails; True if at least one frame came (so the backoff restarts)."""
        self._cap = self._open()
        if self._cap is None:
            return False
        self._opening += 1
        try:
            return self._read_frames()
        finally:
            self._cap.release()

    def _open(self) -> cv2.VideoCapture | None:
        """The opened source, or None (offline, with the reason): missing, not opening, or frames too large (an
        HTTP camera's JPEG frames are sized from their header before any is decoded)."""
        if self.kind == "file" and not Path(str(self.source)).is_file():
            self._set_offline(f"file not found: {self.source}")
            return None
        if self.kind == "http" and self._too_large(http_frame_size(str(self.source))):
            return None
        cap = open_capture(self.source, self.kind)
        if not cap.isOpened():
            cap.release()
            self._set_offline(f"cannot open {describe(self.source)}")
            return None
        if self._too_large((int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))):
            cap.release()
            return None
        return cap

    def _too_large(self, size: tuple[int, int] | None) -> bool:
        """Frames of more than max_pixels are refused: one camera must not take the memory and time of the others."""
        if size is None or size[0] * size[1] <= self.max_pixels:
            return False
        self._set_offline(
            f"frames of {size[0]}x{size[1]} pixels are more than cameras[].max_pixels ({self.max_pixels}): refused"
        )
        return True

    @property
    def _capture(self) -> cv2.VideoCapture:
        """The source being read (set while _read_until_failure runs)."""
        assert self._cap is not None
        return self._cap

    def _read_frames(self) -> bool:
        native = self._capture.get(cv2.CAP_PROP_FPS) or 0.0
        native = native if 1 <= native <= 240 else 25.0
        step = max(1.0, native / self.fps) if self.kind == "file" else 1.0
        period = step / native if self.kind == "file" else 0.0
        delivered, carry, next_due = False, 0.0, time.monotonic()
        while not self._stop_event.is_set():
            ok, image = self._capture.read()
            if not ok or image is None:
                if self._reopened(delivered):
                    continue
                return delivered
            if self._too_large((image.shape[1], image.shape[0])):
                return delivered
            self._publish(image)
            delivered = True
            if self.kind == "file":
                carry += step - 1.0  # skip frames so the video plays in real time at the delivered rate
                while carry >= 1.0:
                    if self._capture.grab():
                        self.stats.frames_skipped += 1
                    carry -= 1.0
                next_due += period
                delay = next_due - time.monotonic()
                if delay > 0:
                    self._stop_event.wait(delay)
                elif delay < -1.0:
                    next_due = time.monotonic()  # fell far behind (slow disk): do not burst to catch up
        return delivered

    def _reopened(self, delivered: bool) -> bool:
        """At the end of what was read: a looping file starts again (True); otherwise the camera goes offline."""
        if self.kind == "file" and self.loop and delivered and Path(str(self.source)).is_file():
            self._capture.release()
            self._cap = open_capture(self.source, self.kind)  # reopen rather than seek: works for every container
            if self._capture.isOpened():
                return True
        if self.kind == "file" and not self.loop and delivered:
            self._set_offline("end of file")
            self._stop_event.set()  # a file played once is done
            return False
        gone = self.kind == "file" and not Path(str(self.source)).exists()
        self._set_offline(f"file not found: {self.source}" if gone else f"no frame from {describe(self.source)}")
        return False

    def _publish(self, image: np.ndarray) -> None:
        self._seq += 1
        s = self.stats
        s.frames_decoded += 1
        if not s.online:
            log.info("camera %s online (%s)", self.camera, describe(self.source))
            s.online, s.last_error, s.since = True, None, time.time()
        s.height, s.width = image.shape[:2]
        thumbs = {factor: grey_thumbnail(image, factor) for factor in self.thumb_factors}
        self.slot.put(Frame(image, self._seq, time.time(), thumbs, self._opening))
