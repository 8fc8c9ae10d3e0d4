"""Ray mode: the head's thread that collects what the shards raised (alerts with their snapshots, faces already
hidden; people counts; clips) into the outputs, and acknowledges the alerts it stored."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from maskwatch.service.outputs import EventOutputs

if TYPE_CHECKING:
    from maskwatch.scale import RayCameras

log = logging.getLogger(__name__)


class RayCollector:
    def __init__(self, remote: RayCameras, outputs: EventOutputs, every: float = 0.2):
        self.remote, self.outputs, self.every = remote, outputs, every
        self._stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="collector", daemon=True)
        self.beat = time.monotonic()

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self._stop_event.set()
        self.thread.join(timeout)

    def alive(self) -> bool:
        return self.thread.is_alive()

    def _run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.beat = time.monotonic()
            try:
                self.collect_once()
            except Exception:
                if self._stop_event.is_set():
                    return  # the store may be closed already
                log.exception("collecting the shards' results failed")

    def collect_once(self) -> None:
        alerts, sightings, clips = self.remote.drain()
        try:
            self.outputs.add_sightings(sightings)
        except Exception:
            if self._stop_event.is_set():
                return
            log.exception("recording sightings failed")
        stored = []
        for shard_alert in alerts:
            alert = shard_alert.alert
            try:
                if self.outputs.find_event(alert) is None:  # handed over again after a restart: stored once
                    self.outputs.record_remote_alert(alert, shard_alert.jpeg)
                stored.append(shard_alert)
            except Exception:
                if self._stop_event.is_set():
                    return
                log.exception("camera %s: recording an alert failed (the shard keeps it)", alert.camera)
        self.remote.acknowledge(stored)
        for clip, webm in clips:  # their alerts came in an earlier or the same drain
            try:
                ids = [self.outputs.require_store().find(clip.camera, track, at) for track, at in clip.keys]
                self.outputs.save_clip(clip, webm, [i for i in ids if i is not None])
            except Exception:
                if self._stop_event.is_set():
                    return
                log.exception("camera %s: storing a clip failed", clip.camera)
