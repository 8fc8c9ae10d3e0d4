"""One camera shard: some of the cameras read and analysed as the service does it (maskwatch.analysis), their
records kept for the head to collect instead of stored and sent. Ray runs it as an actor; it is a plain class, so
it also runs (and is tested) without Ray."""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Sequence

import numpy as np

from maskwatch.analysis import LocalCameras, RaisedAlert
from maskwatch.backends import make_pipeline
from maskwatch.config import AppConfig, ScaleConfig, SinksConfig, ZoneConfig
from maskwatch.core.records import CameraStatus
from maskwatch.events import Clip, ClipRecording, SnapshotWriter
from maskwatch.rules import Sighting
from maskwatch.scale.outbox import ShardOutbox, outbox_path

MAX_QUEUED = 10_000  # sightings kept while no head collects them; the oldest go first


class ShardOutput:
    """The analysers' output on a shard: alerts (with their snapshot JPEG, faces hidden) into the outbox until the
    head acknowledges them; people counts and encoded clips queued for the head's next collection."""

    def __init__(self, config: AppConfig, outbox: ShardOutbox, clip_cameras: list[str]):
        st, pv = config.storage, config.privacy
        self.snapshots = SnapshotWriter(st.snapshots, st.jpeg_quality, pv.blur_method, pv.snapshot_show_offender)
        self.save_snapshots = pv.save_snapshots
        self.outbox = outbox
        self.seen: deque[Sighting] = deque(maxlen=MAX_QUEUED)
        self.recorded: deque[tuple[Clip, bytes]] = deque(maxlen=100)  # (clip without its frames, WebM)
        self.clips = ClipRecording(config.clips, clip_cameras, self._encoded) if clip_cameras else None

    def alert(self, raised: RaisedAlert) -> None:
        a = raised.alert
        jpeg = None
        if self.save_snapshots:
            jpeg = self.snapshots.encode(raised.image, raised.hidden, raised.offender, a.label, a.confidence)
        self.outbox.put(a, jpeg)
        if self.clips is not None:  # the head finds the clip's events by (track, time)
            self.clips.trigger(a.camera, (a.track_id, a.time), a.time)

    def sightings(self, sightings: list[Sighting]) -> None:
        self.seen.extend(sightings)

    def clip_frame(self, camera: str, at: float, image: np.ndarray) -> None:
        if self.clips is not None:
            self.clips.add(camera, at, image)

    def _encoded(self, clip: Clip, webm: bytes) -> None:
        clip.frames = []
        self.recorded.append((clip, webm))


def _take_all(queue: deque) -> list:
    out = []
    while queue:
        out.append(queue.popleft())
    return out


class CameraShard:
    """Reads and analyses the named cameras of `config` (a JSON-ready AppConfig dump)."""

    def __init__(self, config: dict, cameras: list[str]):
        cfg = AppConfig.model_validate(config)
        folder = cfg.scale.ray.outbox if cfg.scale.ray else None
        cfg.cameras = [c for c in cfg.cameras if c.name in cameras]
        cfg.scale, cfg.sinks = ScaleConfig(), SinksConfig(log=False)
        self.config = cfg
        self.outbox = ShardOutbox(outbox_path(folder, cfg.storage.database, cameras))
        clip_cameras = [c.name for c in cfg.cameras if c.enabled and cfg.records_clips(c)]
        self.output = ShardOutput(cfg, self.outbox, clip_cameras)
        self.cameras = LocalCameras(cfg, make_pipeline(cfg.detector), self.output, frozenset(clip_cameras))
        if self.output.clips is not None:
            self.output.clips.start()
        self.cameras.start()
        self.incarnation = uuid.uuid4().hex  # new each time Ray (re)starts the actor

    def drain(self, acknowledged: Sequence[int] = ()) -> tuple[str, list, list, list]:
        """Forgets the alerts the head acknowledges (it stored them); returns this start's id (a change means the
        shard was restarted with its first zones), the alerts not acknowledged yet as (seq, alert, snapshot JPEG),
        and the sightings and clips since the last call."""
        alerts = self.outbox.take(list(acknowledged))
        return self.incarnation, alerts, _take_all(self.output.seen), _take_all(self.output.recorded)

    def camera_status(self) -> list[CameraStatus]:
        return self.cameras.status()

    def latest_jpeg(self, camera: str, annotated: bool) -> bytes | None:
        return self.cameras.latest_jpeg(camera, annotated)

    def result_delays(self, camera: str, since: float) -> list[float]:
        return self.cameras.result_delays(camera, since)

    def zones(self, camera: str) -> list[dict]:
        return [z.model_dump(mode="json") for z in self.config.camera(camera).zones]

    def set_zones(self, camera: str, zones: list[dict]) -> None:
        parsed = [ZoneConfig.model_validate(z) for z in zones]
        self.config.camera(camera).zones = parsed
        self.cameras.set_zones(camera, parsed)

    def providers(self) -> list[str]:
        return self.cameras.providers()

    def stop(self) -> None:
        self.cameras.stop(timeout=3.0)
        if self.output.clips is not None:
            self.output.clips.stop(1.0)
        self.cameras.join_readers(time.monotonic() + 0.5)
        self.outbox.close()
