"""Event clips: the analysed frames around an alert, every face hidden and the faces' boxes drawn, as WebM (VP8).

Each camera keeps its last `before_seconds` of analysed frames, already hidden and drawn, as small JPEGs. An alert
starts a clip with them, from `before` seconds before it until `after` seconds after it. A later alert on the same
camera joins a clip being recorded, which then runs on until `after` seconds past it, as long as the clip stays
within `longest`; otherwise it starts a clip of its own. An encoder thread encodes finished clips, so the analysis
loop never waits for it.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction

import cv2
import numpy as np

log = logging.getLogger(__name__)

MS = Fraction(1, 1000)


@dataclass(frozen=True)
class ClipTiming:
    before: float  # seconds of frames kept ahead of an alert
    after: float  # seconds recorded after the last alert of the clip
    longest: float  # a clip that alerts keep extending stops taking new ones at this length


@dataclass
class Clip:
    camera: str
    keys: list[Hashable]  # the alerts it shows (event ids, or what the caller matches them by)
    start: float
    end: float
    frames: list[tuple[float, bytes]] = field(default_factory=list)  # (wall-clock time, JPEG)


class ClipRecorder:
    """One camera's recent frames and the clips it is recording. `done` receives each finished clip."""

    def __init__(self, camera: str, timing: ClipTiming, done: Callable[[Clip], None], jpeg_quality: int = 80):
        self.camera, self.timing, self.done, self.quality = camera, timing, done, jpeg_quality
        self.recent: deque[tuple[float, bytes]] = deque()
        self.recording: list[Clip] = []
        self._lock = threading.Lock()  # add/trigger on the analysis thread, expire/finish from housekeeping and stop

    def add(self, ts: float, image: np.ndarray) -> None:
        """An analysed frame, faces already hidden."""
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return
        frame = (ts, data.tobytes())
        with self._lock:
            self.recent.append(frame)
            while self.recent and self.recent[0][0] < ts - self.timing.before:
                self.recent.popleft()
            for clip in self.recording:
                clip.frames.append(frame)
            self._finish([c for c in self.recording if ts >= c.end])

    def trigger(self, key: Hashable, ts: float) -> None:
        """An alert at `ts` (its frame added already): it joins a clip being recorded that can run on until
        `after` seconds past it within `longest`, or starts one of its own."""
        end = ts + self.timing.after
        with self._lock:
            for clip in self.recording:
                if end <= clip.start + self.timing.longest:
                    clip.keys.append(key)
                    clip.end = max(clip.end, end)
                    return
            frames = [f for f in self.recent if f[0] >= ts - self.timing.before]
            self.recording.append(Clip(self.camera, [key], frames[0][0] if frames else ts, end, frames))

    def expire(self, now: float, grace: float = 2.0) -> None:
        """Ends the clips whose camera stopped sending frames before their end."""
        with self._lock:
            self._finish([c for c in self.recording if now > c.end + grace])

    def finish(self) -> None:
        """Ends the clips being recorded with the frames they have (at shutdown)."""
        with self._lock:
            self._finish(list(self.recording))

    def _finish(self, clips: list[Clip]) -> None:
        for clip in clips:
            self.recording.remove(clip)
            if clip.frames:
                self.done(clip)


def encode_webm(frames: list[tuple[float, bytes]], kbps: int) -> bytes:
    """VP8 in WebM, each frame shown at its own time (the analysed frames come at an uneven rate)."""
    import av  # PyAV (the serve extra); only the service records clips

    def image(jpeg: bytes) -> np.ndarray:  # one at a time: a 30 s clip decoded at once would hold 100 MB
        decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if decoded is None:
            raise ValueError("a clip frame is not a readable JPEG")
        return decoded

    h, w = image(frames[0][1]).shape[:2]
    out_buf = io.BytesIO()
    with av.open(out_buf, "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=1000, options={"deadline": "realtime", "cpu-used": "16", "threads": "1"})
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = w, h, "yuv420p", kbps * 1000
        stream.time_base = MS
        t0, last = frames[0][0], -1
        for ts, jpeg in frames:
            frame = av.VideoFrame.from_ndarray(image(jpeg), format="bgr24")
            frame.pts = last = max(last + 1, round((ts - t0) * 1000))
            frame.time_base = MS
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return out_buf.getvalue()


def clip_name(camera: str, start: float) -> str:
    """Where a clip goes, relative to the clip folder: <camera>/<UTC date>/<UTC time>_<ms>.webm."""
    t = datetime.fromtimestamp(start, UTC)
    return f"{camera}/{t:%Y-%m-%d}/{t:%H%M%S}_{int(start * 1000) % 1000:03d}.webm"


class ClipEncoder(threading.Thread):
    """Encodes finished clips one after another and hands (clip, WebM bytes) to `encoded`. At most `backlog` clips
    wait: on a machine too busy to encode them, further clips are dropped (and counted) rather than held in memory."""

    def __init__(self, kbps: int, encoded: Callable[[Clip, bytes], None], backlog: int = 16):
        import av  # noqa: F401 (missing, the service says so at its start rather than at its first clip)

        super().__init__(name="clip-encoder", daemon=True)
        self.kbps, self.encoded = kbps, encoded
        self.written = self.dropped = 0
        self._queue: queue.Queue[Clip | None] = queue.Queue(maxsize=backlog)

    def submit(self, clip: Clip) -> None:
        try:
            self._queue.put_nowait(clip)
        except queue.Full:
            self.dropped += 1
            log.warning(
                "camera %s: clip dropped, %d clips already wait for the encoder", clip.camera, self._queue.maxsize
            )

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def run(self) -> None:
        while (clip := self._queue.get()) is not None:
            try:
                self.encoded(clip, encode_webm(clip.frames, self.kbps))
                self.written += 1
            except Exception as err:  # noqa: BLE001 (one bad clip must not end the others)
                log.warning("camera %s: clip of %d frame(s) not saved: %s", clip.camera, len(clip.frames), err)

    def stop(self, timeout: float) -> None:
        """Encodes what was submitted (within `timeout`), then ends."""
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return  # still busy: a daemon thread, it ends with the process
        self.join(max(0.0, deadline - time.monotonic()))
