"""One camera shard: a Service over some of the cameras that keeps its alerts for the head to collect instead of
storing and sending them. Ray runs it as an actor; it is a plain class, so it also runs (and is tested) without Ray."""

from __future__ import annotations

import uuid
from collections import deque

from maskwatch.config import AppConfig, ScaleConfig, SinksConfig
from maskwatch.service.service import Service

MAX_PENDING = 10_000  # alerts kept while no head collects them; the oldest go first


class ShardService(Service):
    def __init__(self, config: AppConfig):
        super().__init__(config)
        self.pending: deque = deque(maxlen=MAX_PENDING)  # (Alert, snapshot JPEG with faces hidden, or None)
        self.sightings: deque = deque(maxlen=MAX_PENDING)
        self.clips: deque = deque(maxlen=100)  # (Clip without its frames, WebM bytes): the head stores them

    def _start_outputs(self) -> None:
        """The head stores and delivers the events; a shard has no store, sinks or retention of its own."""

    def _keep(self, frame, hidden, offender, alert):
        """Keeps the alert and its snapshot JPEG for the head, which finds the event by (track, time)."""
        jpeg = None
        if self.config.privacy.save_snapshots:
            jpeg = self.snapshots.encode(frame.image, hidden, offender)
        self.pending.append((alert, jpeg))
        return alert.track_id, alert.time

    def _clip_encoded(self, clip, webm: bytes) -> None:
        clip.frames = []
        self.clips.append((clip, webm))

    def _add_sightings(self, sightings: list) -> None:
        self.sightings.extend(sightings)

    def drain(self) -> tuple[list, list, list]:
        """The alerts, the sightings and the clips since the last call."""
        return _take_all(self.pending), _take_all(self.sightings), _take_all(self.clips)


def _take_all(queue: deque) -> list:
    out = []
    while queue:
        out.append(queue.popleft())
    return out


class CameraShard:
    """Reads and analyses the named cameras of `config` (a JSON-ready AppConfig dump)."""

    def __init__(self, config: dict, cameras: list[str]):
        cfg = AppConfig.model_validate(config)
        cfg.cameras = [c for c in cfg.cameras if c.name in cameras]
        cfg.scale, cfg.sinks = ScaleConfig(), SinksConfig(log=False)
        self.service = ShardService(cfg)
        self.service.start()
        self.incarnation = uuid.uuid4().hex  # new each time Ray (re)starts the actor

    def drain(self) -> tuple[str, list, list, list]:
        """This start's id (a change means the shard was restarted with its first zones), the pending alerts,
        sightings and clips."""
        return self.incarnation, *self.service.drain()

    def camera_status(self) -> list[dict]:
        return self.service.camera_status()

    def latest_jpeg(self, camera: str, annotated: bool) -> bytes | None:
        return self.service.latest_jpeg(camera, annotated)

    def result_delays(self, camera: str, since: float) -> list[float]:
        return self.service.result_delays(camera, since)

    def zones(self, camera: str) -> list[dict]:
        return self.service.zones(camera)

    def set_zones(self, camera: str, zones: list[dict]) -> None:
        self.service.set_zones(camera, zones)

    def providers(self) -> list[str]:
        return self.service.providers()

    def stop(self) -> None:
        self.service.stop()
