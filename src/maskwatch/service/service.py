"""The running service, put together from its parts:

- the cameras: analysed here (maskwatch.analysis.LocalCameras: a reader per camera, one analysis loop batched
  across cameras) or, with `scale.ray`, by shards on a Ray cluster (maskwatch.scale.RayCameras, whose results a
  collector thread brings back);
- the outputs (service.outputs.EventOutputs): event store, outbox to the sinks, retention, notices, daily summary;
  and the alert clips (events.ClipRecording);
- the status publisher (service.publisher): camera states over MQTT and outage notices, once a second;
- the query facade the web layer reads (service.queries.QueryFacade, mixed in here).

Thread-safe; used by the CLI and the web app.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import TypeAdapter, ValidationError

from maskwatch.analysis import LocalCameras, RaisedAlert
from maskwatch.backends import Pipeline, make_pipeline
from maskwatch.cases import CaseCollector
from maskwatch.cases.collector import open_collector
from maskwatch.config import AppConfig, ZoneConfig, ZoneList, _is_union_tag
from maskwatch.config.edit import save_zones
from maskwatch.core.errors import UserError
from maskwatch.events import Clip, ClipRecording
from maskwatch.rules import Sighting
from maskwatch.service.collector import RayCollector
from maskwatch.service.models import ActiveModel
from maskwatch.service.outputs import EventOutputs
from maskwatch.service.publisher import StatusPublisher
from maskwatch.service.queries import QueryFacade

if TYPE_CHECKING:
    from maskwatch.scale import RayCameras

log = logging.getLogger(__name__)


class LocalOutput:
    """Where the analysers on this machine send their records: the outputs, and the clip recording."""

    def __init__(self, outputs: EventOutputs, clips: ClipRecording | None, cases: CaseCollector | None = None):
        self.outputs, self.clips, self.cases = outputs, clips, cases

    def alert(self, raised: RaisedAlert) -> None:
        a = raised.alert
        event_id = self.outputs.record_frame_alert(a, raised.image, raised.hidden, raised.offender)
        if self.clips is not None:
            self.clips.trigger(a.camera, event_id, a.time)
        if self.cases is not None and raised.probs is not None:  # held for its review; never raises
            self.cases.alert(
                event_id, a.camera, a.zone, a.time, raised.image, raised.hidden[raised.offender], raised.probs
            )

    def sightings(self, sightings: list[Sighting]) -> None:
        self.outputs.add_sightings(sightings)

    def clip_frame(self, camera: str, at: float, image: np.ndarray) -> None:
        if self.clips is not None:
            self.clips.add(camera, at, image)


def parse_zones(zones: list[dict]) -> list[ZoneConfig]:
    try:
        parsed = TypeAdapter(ZoneList).validate_python(zones)
    except ValidationError as err:
        e = err.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"] if not _is_union_tag(p))
        raise UserError(f"zones{where}: {e['msg'].removeprefix('Value error, ')}") from None
    names = [z.name for z in parsed]
    if len(names) != len(set(names)):
        raise UserError(f"zone names repeat: {names}")
    return parsed


class Service(QueryFacade):
    def __init__(self, config: AppConfig, config_path: Path | None = None, pipeline: Pipeline | None = None):
        self.config = config
        self.config_path = Path(config_path) if config_path else None
        self.pipeline = pipeline
        self.started_at: float | None = None
        self._lock = threading.RLock()
        self.closing = threading.Event()  # set as shutdown begins: endless web streams should end when they see it
        self.outputs = EventOutputs(config, self.camera_names())
        self.models = ActiveModel(config, follow_promotions=config.scale.ray is None)
        self.outputs.model_version = lambda: self.model_version
        self.cameras = None  # LocalCameras, or RayCameras with scale.ray (then also self.remote)
        self.local: LocalCameras | None = None
        self.remote: RayCameras | None = None
        self.collector: RayCollector | None = None
        self.clips: ClipRecording | None = None
        self.case_collector: CaseCollector | None = None  # collect: (maskwatch.cases)
        self.publisher: StatusPublisher | None = None
        self._ticking = threading.Event()
        self._ticker: threading.Thread | None = None
        from maskwatch.service.metrics import make_registry

        self.metrics_registry = make_registry(self)

    # the parts, as they were reached before the service was split
    store = property(lambda self: self.outputs.store)
    sinks = property(lambda self: self.outputs.sinks)
    daily = property(lambda self: self.outputs.daily)
    snapshots = property(lambda self: self.outputs.snapshots)
    clip_encoder = property(lambda self: self.clips.encoder if self.clips else None)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self.started_at is not None:
                return
            cfg = self.config
            if self.pipeline is None and cfg.scale.ray is None:
                self.pipeline = make_pipeline(self.models.detector_config())
            self.outputs.start()
            self._open_cases()
            try:
                self._start_remote() if cfg.scale.ray is not None else self._start_local()
            except BaseException:
                if self.clips is not None:
                    self.clips.stop(0.5)
                    self.clips = None
                self._close_cases()
                self.outputs.stop(time.monotonic() + 2.0)
                raise
            self.closing.clear()
            self.started_at = time.time()
            self.publisher = StatusPublisher(self.outputs.sinks, self.outputs.notices, cfg.sinks.camera_offline_seconds)
            if self.local is not None:
                self.local.start()
            if self.collector is not None:
                self.collector.start()
            self._ticking.clear()
            self._ticker = threading.Thread(target=self._tick, name="housekeeping", daemon=True)
            self._ticker.start()
            log.info(
                "maskwatch started: %d camera(s)%s, sinks: %s",
                len(self.camera_names()),
                f" on {len(self.remote.shards)} Ray shard(s)" if self.remote else "",
                ", ".join(s.name for s in self.sinks) or "none",
            )

    def _start_local(self) -> None:
        cfg = self.config
        recorded = [c.name for c in cfg.cameras if c.enabled and cfg.records_clips(c)]
        if recorded:
            self.clips = ClipRecording(cfg.clips, recorded, self._clip_encoded)
            self.clips.start()
        collecting = self.case_collector if self.case_collector and self.case_collector.enabled else None
        output = LocalOutput(self.outputs, self.clips, collecting)
        assert self.pipeline is not None  # made in start()
        self.cameras = self.local = LocalCameras(cfg, self.pipeline, output, frozenset(recorded))
        for cam in self.local.cameras.values():
            cam.analyser.cases = collecting

    def _open_cases(self) -> None:
        """The cases store and collector (collect:); where it cannot open, the service runs without it."""
        version = getattr(getattr(self.pipeline, "classifier", None), "version", None)
        try:
            self.case_collector = open_collector(self.config, version)
        except Exception:  # alerts matter more than cases
            log.exception("the cases store %s cannot be opened: no cases are kept", self.config.cases_folder)
            return
        if self.case_collector is None:
            return
        self.case_collector.start()
        if self.config.collect.enabled and self.config.scale.ray is not None:
            log.warning("collect: cameras analysed on Ray shards keep no cases (their frames stay on the shards)")

    def _start_remote(self) -> None:
        from maskwatch.scale import RayCameras

        self.cameras = self.remote = RayCameras(self.config)
        self.collector = RayCollector(self.remote, self.outputs)

    def _close_cases(self) -> None:
        if self.case_collector is not None:
            self.case_collector.stop(0.5)
            self.case_collector.store.close()
            self.case_collector = None

    def _clip_encoded(self, clip: Clip, webm: bytes) -> None:
        self.outputs.save_clip(clip, webm, [k for k in clip.keys if isinstance(k, int)])  # here: event ids

    def stop(self, timeout: float = 5.0) -> None:
        """Stops readers and analysis, gives the sinks a last short chance, and closes the store (flushed)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self.started_at is None:
                return
            self.closing.set()
            self._ticking.set()
            if self.local is not None:
                self.local.stop(max(0.1, deadline - time.monotonic() - 1.5))
            if self.collector is not None:
                self.collector.stop(max(0.1, deadline - time.monotonic() - 1.5))
                self.collector = None
            if self.clips is not None:  # the clips being recorded end and are encoded while the store is open
                self.clips.stop(max(0.1, deadline - time.monotonic() - 1.5))
                self.clips = None
            if self.remote is not None:
                self.remote.stop()
                self.remote = self.cameras = None
            self.outputs.stop(deadline)
            self._close_cases()
            if self.local is not None:
                self.local.join_readers(deadline)
            if self._ticker is not None:
                self._ticker.join(max(0.0, min(0.5, deadline - time.monotonic())))
            self.started_at = None
            log.info("maskwatch stopped")

    def _heartbeat(self) -> tuple[bool, float]:
        loop = self.collector or self.local
        if loop is None:
            return False, float("inf")
        return loop.alive(), time.monotonic() - loop.beat

    def _tick(self) -> None:
        """Once a second: the cameras' states to MQTT and outage notices; clips of cameras that stopped end."""
        while not self._ticking.wait(1.0):
            now = time.time()
            try:
                # a promoted or rolled back classifier applies to the next frames, and to the cases kept from them
                if self.models.poll(self.pipeline) and self.case_collector is not None:
                    self.case_collector.model_version = self.model_version
                if self.clips is not None:
                    self.clips.expire(now)
                if self.publisher is not None:
                    self.publisher.publish(self.camera_records, now)
            except Exception:
                if self._ticking.is_set():
                    return
                log.exception("housekeeping failed")

    # --- what the web may change -------------------------------------------------------------------------------

    def add_event_listener(self, fn: Callable[[dict], None]) -> None:
        self.outputs.listeners.append(fn)

    def remove_event_listener(self, fn: Callable[[dict], None]) -> None:
        if fn in self.outputs.listeners:
            self.outputs.listeners.remove(fn)

    def review_event(self, event_id: int, review: str | None) -> dict | None:
        """'confirmed' or 'false_alarm' as said by whoever looked at the alert; None: not looked at yet."""
        try:
            found = self.outputs.require_store().set_review(event_id, review)
        except ValueError as err:
            raise UserError(str(err)) from None
        if found and self.case_collector is not None:
            self.case_collector.reviewed(event_id, review)  # never raises
        return found.to_json() if found else None

    def set_zones(self, camera: str, zones: list[dict]) -> None:
        """Validated, applied to the running camera at once, and saved into the YAML file when there is one."""
        cam = self.config.camera(camera)
        parsed = parse_zones(zones)
        with self._lock:
            if self.config_path:
                save_zones(self.config_path, camera, parsed)
            cam.zones = parsed
            if self.cameras is not None:
                self.cameras.set_zones(camera, parsed)
        log.info("camera %s: %d zone(s) set", camera, len(parsed))
