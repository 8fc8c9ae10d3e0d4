"""The alert clips of the cameras that record them: a recorder per camera, one encoder thread for all."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.events.clips import Clip, ClipEncoder, ClipRecorder, ClipTiming

if TYPE_CHECKING:
    from maskwatch.config import ClipsConfig


class ClipRecording:
    """`encoded` receives each finished clip with its WebM bytes (on the encoder thread)."""

    def __init__(self, clips: ClipsConfig, cameras: list[str], encoded: Callable[[Clip, bytes], None]):
        self.encoder = ClipEncoder(clips.kbps, encoded)
        timing = ClipTiming(clips.before_seconds, clips.after_seconds, clips.max_seconds)
        self.recorders = {name: ClipRecorder(name, timing, self.encoder.submit) for name in cameras}

    def start(self) -> None:
        self.encoder.start()

    def add(self, camera: str, at: float, image: np.ndarray) -> None:
        """An analysed frame as clips show it (faces hidden)."""
        self.recorders[camera].add(at, image)

    def trigger(self, camera: str, key: Hashable, at: float) -> None:
        """An alert (its frame added already) that its clip is matched to by `key`."""
        if camera in self.recorders:
            self.recorders[camera].trigger(key, at)

    def expire(self, now: float) -> None:
        """Ends the clips of cameras that stopped sending frames."""
        for recorder in self.recorders.values():
            recorder.expire(now)

    def stop(self, timeout: float) -> None:
        """The clips being recorded end with the frames they have and are encoded (within `timeout`)."""
        for recorder in self.recorders.values():
            recorder.finish()
        self.encoder.stop(timeout)

    def counts(self) -> dict:
        """Clips encoded and saved, dropped (the encoder fell behind) and waiting since the start."""
        e = self.encoder
        return {"written": e.written, "dropped": e.dropped, "waiting": e.waiting}
