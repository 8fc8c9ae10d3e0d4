"""The running service: camera readers → one analysis thread (batched across cameras) → tracks → rules → store/sinks.
With `scale.ray` the cameras are read and analysed by shards on a Ray cluster (maskwatch.scale) and only their
alerts come back here.

Thread-safe facade used by the CLI and the web app.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
from pydantic import TypeAdapter, ValidationError

from maskwatch.backends import backend, make_pipeline
from maskwatch.config import AppConfig, CameraConfig, ZoneConfig, _is_union_tag
from maskwatch.config.edit import save_zones
from maskwatch.core.detections import Detections
from maskwatch.core.draw import draw_detections, draw_zone
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES, REVIEW_STATES, UNMASKED
from maskwatch.events import (
    Clip,
    ClipEncoder,
    ClipRecorder,
    ClipTiming,
    EventStore,
    Retention,
    RetentionJob,
    SnapshotWriter,
    clip_name,
    compliance_table,
    days_back,
    iso,
    midnight,
    resolve_in,
    write_atomic,
)
from maskwatch.privacy import blur_faces
from maskwatch.rules import RuleEngine, ignored, make_zones
from maskwatch.analysis.motion import MotionGate, thumbnail
from maskwatch.sinks import CameraNotices, EmailSink, OutageWatch, Outbox, StatusSink, make_sinks
from maskwatch.sinks.daily_summary import DailySummary, summary_text
from maskwatch.sources import CameraReader, Frame, describe
from maskwatch.track import FaceTracker, LabelSmoother

log = logging.getLogger(__name__)


@dataclass
class CameraRuntime:
    config: CameraConfig
    reader: CameraReader
    tracker: FaceTracker
    smoother: LabelSmoother
    rules: RuleEngine
    gate: MotionGate
    lock: threading.Lock = field(default_factory=threading.Lock)
    frame: Frame | None = None
    dets: Detections | None = None  # last analysed frame's faces; class_probs smoothed over tracks
    hidden: np.ndarray | None = None  # boxes to hide in that frame: every face, doubtful ones included
    frames_analysed: int = 0
    frames_detected: int = 0  # analysed frames the detector ran on (the others were still: last faces kept)
    found: Detections | None = None  # the last detector result, kept for still frames
    analysed_at: deque = field(default_factory=lambda: deque(maxlen=30))
    delays: deque = field(default_factory=lambda: deque(maxlen=2048))  # (result time, seconds from decode to result)
    next_due: float = 0.0
    faces: int = 0
    masked: int = 0
    unmasked: int = 0
    events: int = 0
    jpeg_cache: dict = field(default_factory=dict)
    clips: ClipRecorder | None = None  # the recent frames and the clip being recorded

    def fps_analysed(self) -> float:
        times = list(self.analysed_at)
        if len(times) < 2 or time.time() - times[-1] > 5.0:
            return 0.0
        return (len(times) - 1) / max(1e-6, times[-1] - times[0])


STALL_SECONDS = 30.0  # an analysis loop that has not gone round for this long makes /healthz answer 503


class Service:
    def __init__(self, config: AppConfig, config_path: Path | None = None, pipeline=None):
        self.config = config
        self.config_path = Path(config_path) if config_path else None
        self.pipeline = pipeline
        self.started_at: float | None = None
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self.closing = threading.Event()  # set as shutdown begins: endless web streams should end when they see it
        self._frame_ready = threading.Event()
        self._listeners: list = []
        self._cameras: dict[str, CameraRuntime] = {}
        self._analyser: threading.Thread | None = None  # the analysis loop, or in Ray mode the alert collector
        self._beat = time.monotonic()  # when that loop last went round (health)
        self.remote = None  # RayCameras when the cameras are analysed on a Ray cluster
        self._published_state: dict[str, dict] = {}  # camera -> last status sent over MQTT
        self.store: EventStore | None = None
        self.sinks: list = []
        self.outbox: Outbox | None = None
        self.notices: CameraNotices | None = None  # camera outages, to the sinks that ask for them
        self.daily: list[DailySummary] = []  # the day before's figures, one per e-mail sink that asks
        self.outages = OutageWatch(config.sinks.camera_offline_seconds)
        self.retention: RetentionJob | None = None
        self.clip_encoder: ClipEncoder | None = None  # where cameras are analysed here and clips are on
        self.snapshots = SnapshotWriter(
            config.storage.snapshots,
            config.storage.jpeg_quality,
            config.privacy.blur_method,
            config.privacy.snapshot_show_offender,
        )
        from maskwatch.service.metrics import make_registry

        self.metrics_registry = make_registry(self)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self.started_at is not None:
                return
            cfg = self.config
            if self.pipeline is None and cfg.scale.ray is None:
                self.pipeline = self._make_pipeline()
            self._start_outputs()
            try:
                if cfg.scale.ray is None and any(cfg.records_clips(c) for c in cfg.cameras if c.enabled):
                    self.clip_encoder = ClipEncoder(cfg.clips.kbps, self._clip_encoded)
                    self.clip_encoder.start()
                if cfg.scale.ray is not None:
                    from maskwatch.scale import RayCameras

                    self.remote = RayCameras(cfg)
                else:
                    for cam in cfg.cameras:
                        if cam.enabled:
                            self._cameras[cam.name] = self._make_camera(cam)
            except BaseException:
                self._stop_clips(0.5)
                self._stop_outputs()
                raise
            self._stop_event.clear()
            self.closing.clear()
            self.started_at = time.time()
            for rt in self._cameras.values():
                rt.reader.start()
            loop = self._collect_loop if self.remote else self._analyse_loop
            self._analyser = threading.Thread(target=loop, name="analyser", daemon=True)
            self._analyser.start()
            log.info(
                "maskwatch started: %d camera(s)%s, sinks: %s",
                len(self.camera_names()),
                f" on {len(self.remote.shards)} Ray shard(s)" if self.remote else "",
                ", ".join(s.name for s in self.sinks) or "none",
            )

    def _make_pipeline(self):
        return make_pipeline(self.config.detector)

    def _start_outputs(self) -> None:
        """Sinks, the event store, the outbox that delivers events and the retention job."""
        cfg = self.config
        self.sinks = make_sinks(cfg.sinks, self.camera_names(), self.snapshots.resolve, cfg.rules.tzinfo)
        try:
            self.store = EventStore(cfg.storage.database, {s.name: s.cameras for s in self.sinks})
        except (OSError, sqlite3.Error) as err:
            for sink in self.sinks:
                sink.close()
            raise UserError(f"cannot open the event database {cfg.storage.database}: {err}") from None
        self.outbox = Outbox(self.store, self.sinks, retry_max=cfg.sinks.retry_seconds)
        st = cfg.storage
        self.retention = RetentionJob(
            self.store,
            st.snapshots,
            Retention(st.retention_days, st.snapshot_retention_days, st.count_retention_days, st.clip_retention_days),
            clips=st.clips,
            max_media_bytes=st.max_media_mb and st.max_media_mb * 1e6,
        )
        self.outbox.start()
        self.retention.start()
        notified = [s for s in self.sinks if s.camera_status]
        if notified:
            self.notices = CameraNotices(notified, retry_max=cfg.sinks.retry_seconds)
            self.notices.start()
        for email in self.sinks:
            if isinstance(email, EmailSink) and email.daily_summary:
                compose = functools.partial(self.daily_summary, cameras=email.cameras)
                self.daily.append(DailySummary(email.send_text, compose, email.daily_summary, cfg.rules.tzinfo))
                self.daily[-1].start()

    def _stop_outputs(self, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + 2.0
        if self.outbox:
            self.outbox.stop()
            self.outbox.join(max(0.1, min(1.0, deadline - time.monotonic() - 1.0)))
            # a last short try for sinks whose worker is idle; what stays undelivered goes at the next start
            self.outbox.flush_once(deadline=time.monotonic() + min(0.5, max(0.0, deadline - time.monotonic() - 0.8)))
        if self.retention:
            self.retention.stop()
        if self.notices:
            self.notices.stop(timeout=0.2)
            self.notices = None
        for daily in self.daily:
            daily.stop(timeout=0.2)
        self.daily = []
        for sink in self.sinks:
            sink.close()
        if self.store:
            self.store.close()
            self.store = None

    def _make_camera(self, cam: CameraConfig) -> CameraRuntime:
        cfg = self.config
        reader = CameraReader(
            cam.name,
            cam.source,
            cam.kind,
            cam.fps,
            cam.loop,
            backoff_max=cam.reconnect_max_seconds,
            on_frame=self._frame_ready.set,
        )
        tracker = FaceTracker(cam.fps, cfg.tracker.lost_seconds, cfg.tracker.match_threshold, cfg.detector.min_score)
        smoother = LabelSmoother(cfg.tracker.smoothing_frames, forget_seconds=max(10.0, cfg.tracker.lost_seconds * 2))
        r = cfg.rules
        rules = RuleEngine(
            cam.name,
            make_zones(cam.zones, r.tzinfo),
            r.alert_labels,
            r.min_seconds,
            r.min_confidence,
            r.cooldown_seconds,
        )
        gate = MotionGate(cfg.detector.motion_threshold, cfg.detector.redetect_seconds)
        clips = None
        if self.clip_encoder is not None and cfg.records_clips(cam):
            c = cfg.clips
            clips = ClipRecorder(
                cam.name, ClipTiming(c.before_seconds, c.after_seconds, c.max_seconds), self.clip_encoder.submit
            )
        return CameraRuntime(cam, reader, tracker, smoother, rules, gate, clips=clips)

    def stop(self, timeout: float = 5.0) -> None:
        """Stops readers and analysis, gives the sinks a last short chance, and closes the store (flushed)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self.started_at is None:
                return
            self.closing.set()
            self._stop_event.set()
            self._frame_ready.set()
            for rt in self._cameras.values():
                rt.reader.stop()
            if self._analyser:
                self._analyser.join(max(0.1, deadline - time.monotonic() - 1.5))
            self._stop_clips(max(0.1, deadline - time.monotonic() - 1.5))
            if self.remote:
                self.remote.stop()
                self.remote = None
            self._stop_outputs(deadline)
            for rt in self._cameras.values():
                rt.reader.join(max(0.0, min(0.3, deadline - time.monotonic())))
            self.started_at = None
            log.info("maskwatch stopped")

    @property
    def running(self) -> bool:
        return self.started_at is not None

    def _stop_clips(self, timeout: float) -> None:
        """The clips being recorded end with the frames they have, and are encoded while the store is open."""
        for rt in self._cameras.values():
            if rt.clips is not None:
                rt.clips.finish()
        if self.clip_encoder is not None:
            self.clip_encoder.stop(timeout)
            self.clip_encoder = None

    def health(self) -> dict:
        """'ok' while the analysis loop (in Ray mode, the collector) goes round; 'stalled' when it has not for
        STALL_SECONDS or has died; 'stopped'. Cameras going offline do not count: they fail alone."""
        if not self.running:
            return {"status": "stopped"}
        age = time.monotonic() - self._beat
        alive = self._analyser is not None and self._analyser.is_alive() and age < STALL_SECONDS
        return {"status": "ok" if alive else "stalled", "analysis_seconds_ago": round(age, 1)}

    # --- analysis ----------------------------------------------------------------------------------------------

    def _analyse_loop(self) -> None:
        last_housekeeping = 0.0
        while not self._stop_event.is_set():
            self._beat = time.monotonic()
            self._frame_ready.clear()
            now = time.monotonic()
            batch = []
            for rt in list(self._cameras.values()):
                if now >= rt.next_due and (frame := rt.reader.slot.take()) is not None:
                    batch.append((rt, frame))
                    rt.next_due = now + 0.9 / rt.config.fps  # live sources: at most `fps` analyses a second
            if now - last_housekeeping > 1.0:
                last_housekeeping = now
                self._housekeeping()
            if not batch:
                self._frame_ready.wait(0.05)
                continue
            try:
                results = self._detect(batch)
            except Exception:
                log.exception("analysis failed")
                time.sleep(0.5)
                continue
            for (rt, frame), dets in zip(batch, results):
                try:
                    self._process(rt, frame, dets)
                except Exception:
                    if self._stop_event.is_set():
                        return  # the store may be closed already
                    log.exception("camera %s: processing failed", rt.config.name)

    def _detect(self, batch: list) -> list[Detections]:
        """Classified faces per frame: one pipeline call for the frames that moved, the last result for still ones."""
        gated = self.config.detector.motion_threshold > 0
        thumbs = [thumbnail(frame.image) if gated else None for _, frame in batch]
        results: list[Detections | None] = [None] * len(batch)
        moving = []
        for i, ((rt, frame), thumb) in enumerate(zip(batch, thumbs)):
            if gated and rt.found is not None and rt.gate.still(thumb, frame.time):
                results[i] = rt.found
            else:
                moving.append(i)
        if moving:
            found = self.pipeline.analyze_batch([batch[i][1].image for i in moving], min_score=self._hide_score)
            for i, dets in zip(moving, found):
                rt, frame = batch[i]
                results[i], rt.found = dets, dets
                rt.frames_detected += 1
                if gated:
                    rt.gate.detected(thumbs[i], frame.time)
        return results

    @property
    def _hide_score(self) -> float:
        return min(self.config.detector.min_score, self.config.privacy.blur_min_score)

    def _process(self, rt: CameraRuntime, frame: Frame, found: Detections) -> None:
        h, w = frame.image.shape[:2]
        hidden = found.xyxy.copy()
        zones = rt.rules.zones  # faces in ignored zones are hidden, and nothing else
        kept = np.array(
            [
                i
                for i in np.flatnonzero(found.det_scores >= self.config.detector.min_score)
                if not ignored(found.xyxy[i], w, h, zones)
            ],
            np.int64,
        )
        dets = rt.tracker.update(found[kept])
        shown = dets.class_probs.copy() if dets.class_probs is not None else np.zeros((0, len(CLASSES)), np.float32)
        faces = []
        for i, tid in enumerate(dets.track_ids):
            if tid < 0:
                continue
            tl = rt.smoother.update(int(tid), dets.class_probs[i], frame.time)
            shown[i] = tl.mean_probs
            faces.append((i, tl, tuple(dets.xyxy[i])))
        display = Detections(dets.xyxy, dets.det_scores, dets.landmarks, shown, dets.track_ids)
        if rt.clips is not None:
            rt.clips.add(frame.time, self._clip_frame(rt, frame, hidden, display))
        labels = display.labels
        alerts = rt.rules.check(faces, w, h, frame.time)
        self._add_sightings(rt.rules.count(faces, w, h, frame.time))
        with rt.lock:
            rt.frame, rt.dets, rt.hidden = frame, display, hidden
            rt.frames_analysed += 1
            done = time.time()
            rt.analysed_at.append(done)
            rt.delays.append((done, done - frame.time))
            rt.faces = len(labels)
            rt.masked = sum(1 for lb in labels if lb == "mask")
            rt.unmasked = sum(1 for lb in labels if lb in UNMASKED)
            rt.jpeg_cache = {}
        for alert in alerts:
            self._record(rt, frame, hidden, int(kept[alert.face_index]), alert)

    def _record(self, rt: CameraRuntime, frame: Frame, hidden: np.ndarray, offender: int, alert) -> None:
        rt.events += 1
        key = self._keep(frame, hidden, offender, alert)
        if rt.clips is not None:
            rt.clips.trigger(key, alert.time)

    def _keep(self, frame: Frame, hidden: np.ndarray, offender: int, alert):
        """Stores the alert with its snapshot; returns what its clip is matched to it by (the event id)."""
        snapshot = None
        if self.config.privacy.save_snapshots:
            snapshot = self.snapshots.write(frame.image, hidden, offender, alert.camera, alert.track_id, alert.time)
        return self._add_event(alert, snapshot)

    def _clip_frame(self, rt: CameraRuntime, frame: Frame, hidden: np.ndarray, dets: Detections) -> np.ndarray:
        """The frame as clips show it: at most clips.width wide, every face hidden (snapshot_show_offender or not),
        boxes and zones drawn."""
        h, w = frame.image.shape[:2]
        scale = min(1.0, self.config.clips.width / w)
        size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))  # VP8 wants even sides
        image = cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA) if size != (w, h) else frame.image.copy()
        sx, sy = size[0] / w, size[1] / h
        blur_faces(image, hidden * np.float32([sx, sy, sx, sy]), method=self.config.privacy.blur_method, copy=False)
        return self._annotate(image, rt, dets.scaled(sx, sy), frame.time)

    def _annotate(self, image: np.ndarray, rt: CameraRuntime, dets: Detections | None, at: float) -> np.ndarray:
        """Zones (off hours: drawn as open) and faces drawn onto `image` (changed in place)."""
        for zone in rt.rules.zones if rt.config.zones else []:  # the implicit whole-frame zone is not drawn
            draw_zone(image, zone.polygon, zone.name, zone.restricted_at(at), zone.ignore)
        if dets is not None and len(dets):
            draw_detections(image, dets, copy=False)
        return image

    def _clip_encoded(self, clip: Clip, webm: bytes) -> None:
        self._save_clip(clip, webm, clip.keys)

    def _save_clip(self, clip: Clip, webm: bytes, event_ids: list[int]) -> None:
        rel = clip_name(clip.camera, clip.start)
        write_atomic(self.config.storage.clips / rel, webm)
        self.store.set_clip(event_ids, rel)

    def _add_sightings(self, sightings: list) -> None:
        if sightings:
            self.store.add_sightings(sightings)

    def _collect_loop(self) -> None:
        """Ray mode: the alerts the shards raised (with their snapshots, faces already hidden), their sightings and
        their clips into the store."""
        last_housekeeping = 0.0
        while not self._stop_event.wait(0.2):
            self._beat = time.monotonic()
            alerts, sightings, clips = self.remote.drain()
            try:
                self._add_sightings(sightings)
            except Exception:
                if self._stop_event.is_set():
                    return
                log.exception("recording sightings failed")
            for alert, jpeg in alerts:
                try:
                    snapshot = self.snapshots.save(jpeg, alert.camera, alert.track_id, alert.time) if jpeg else None
                    self._add_event(alert, snapshot)
                except Exception:
                    if self._stop_event.is_set():
                        return
                    log.exception("camera %s: recording an alert failed", alert.camera)
            for clip, webm in clips:  # their alerts came in an earlier or the same drain
                try:
                    ids = [self.store.find(clip.camera, track, at) for track, at in clip.keys]
                    self._save_clip(clip, webm, [i for i in ids if i is not None])
                except Exception:
                    if self._stop_event.is_set():
                        return
                    log.exception("camera %s: storing a clip failed", clip.camera)
            if time.monotonic() - last_housekeeping > 1.0:
                last_housekeeping = time.monotonic()
                self._housekeeping()

    def _add_event(self, alert, snapshot: str | None) -> int:
        event_id = self.store.add(
            alert.time, alert.camera, alert.zone, alert.track_id, alert.label, alert.confidence, snapshot, alert.box
        )
        self.outbox.notify()
        event = self.store.get(event_id).to_json()
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:
                log.exception("event listener failed")
        return event_id

    def _housekeeping(self) -> None:
        now = time.time()
        for rt in list(self._cameras.values()):
            rt.smoother.prune(now)
            if rt.clips is not None:
                rt.clips.expire(now)
        mqtt = next((s for s in self.sinks if isinstance(s, StatusSink) and s.ready()), None)
        notices = self.notices
        if mqtt is None and notices is None:
            return
        for cam in self.camera_status():
            if not cam["enabled"]:
                continue
            notice = notices and self.outages.update(cam["name"], cam["online"], now)
            if notice:
                notices.post(
                    cam["name"],
                    {
                        "type": "camera_status",
                        "camera": cam["name"],
                        **notice,
                        "last_error": cam["last_error"],
                        "time": iso(now),
                    },
                )
            if mqtt is None:
                continue
            state = {k: cam[k] for k in ("online", "faces", "masked", "unmasked", "last_error")}
            if state != self._published_state.get(cam["name"]):  # retained: a dashboard connecting later sees it
                mqtt.publish_status(cam["name"], {**state, "time": iso(now)})
                self._published_state[cam["name"]] = state

    # --- queries (web API) -------------------------------------------------------------------------------------

    def add_event_listener(self, fn) -> None:
        self._listeners.append(fn)

    def remove_event_listener(self, fn) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def camera_names(self) -> list[str]:
        return [c.name for c in self.config.cameras if c.enabled]

    def camera_status(self) -> list[dict]:
        remote = self.remote.camera_status() if self.remote else {}
        out = []
        for cam in self.config.cameras:
            rt = self._cameras.get(cam.name)
            if cam.name in remote:
                out.append(remote[cam.name])
            elif rt is None:
                error = "disabled" if not cam.enabled else "no analysis shard answers" if self.remote else None
                out.append(
                    {
                        "name": cam.name,
                        "enabled": cam.enabled,
                        "online": False,
                        "fps_analysed": 0.0,
                        "frames_decoded": 0,
                        "frames_skipped": 0,
                        "frames_dropped": 0,
                        "frames_analysed": 0,
                        "frames_detected": 0,
                        "faces": 0,
                        "masked": 0,
                        "unmasked": 0,
                        "last_error": error,
                        "width": 0,
                        "height": 0,
                        "source": describe(cam.source),
                        "kind": cam.kind,
                        "events": 0,
                    }
                )
            else:
                out.append(self._live_status(cam, rt))
        return out

    def _live_status(self, cam: CameraConfig, rt: CameraRuntime) -> dict:
        s = rt.reader.stats
        with rt.lock:
            live = s.online  # an offline camera's last counts would describe a scene no longer seen
            return {
                "name": cam.name,
                "enabled": True,
                "online": s.online,
                "fps_analysed": round(rt.fps_analysed(), 2),
                "frames_decoded": s.frames_decoded,
                "frames_skipped": s.frames_skipped,
                "frames_dropped": rt.reader.slot.dropped,
                "frames_analysed": rt.frames_analysed,
                "frames_detected": rt.frames_detected,
                "faces": rt.faces if live else 0,
                "masked": rt.masked if live else 0,
                "unmasked": rt.unmasked if live else 0,
                "last_error": s.last_error,
                "width": s.width,
                "height": s.height,
                "source": describe(cam.source),
                "kind": cam.kind,
                "events": rt.events,
                "state_since": iso(s.since),
            }

    def result_delays(self, camera: str, since: float = 0.0) -> list[float]:
        """Seconds from each frame's decoding to its analysis result, for results after `since` (time.time())."""
        if self.remote:
            return self.remote.result_delays(camera, since)
        rt = self._cameras.get(camera)
        if rt is None:
            return []
        with rt.lock:
            return [delay for done, delay in rt.delays if done >= since]

    def latest_jpeg(self, camera: str, annotated: bool = True) -> bytes | None:
        if self.remote:
            return self.remote.latest_jpeg(camera, annotated)
        rt = self._cameras.get(camera)
        if rt is None:
            return None
        with rt.lock:
            frame, dets, hidden = rt.frame, rt.dets, rt.hidden
            cached = rt.jpeg_cache.get(annotated)
        if frame is None:
            return None
        if cached is not None and cached[0] == frame.seq:
            return cached[1]
        image = frame.image
        if self.config.privacy.blur_live and hidden is not None and len(hidden):
            image = blur_faces(image, hidden, method=self.config.privacy.blur_method)
        else:
            image = image.copy()
        if annotated:
            self._annotate(image, rt, dets, frame.time)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if not ok:
            return None
        jpeg = data.tobytes()
        with rt.lock:
            if rt.frame is frame:
                rt.jpeg_cache[annotated] = (frame.seq, jpeg)
        return jpeg

    def _require_store(self) -> EventStore:
        if self.store is None:
            raise UserError("the service is not running")
        return self.store

    def events(
        self,
        camera=None,
        label=None,
        zone=None,
        since=None,
        limit: int = 100,
        offset: int = 0,
        review: str | None = None,
    ) -> list[dict]:
        try:
            found = self._require_store().query(camera, label, zone, since, limit=limit, offset=offset, review=review)
            return [e.to_json() for e in found]
        except ValueError as err:
            raise UserError(f"bad filter: {err}") from None

    def compliance(
        self, since=None, until=None, camera: str | None = None, bucket: str = "day", days: int | None = None
    ) -> list[dict]:
        """People seen per label, camera and zone, by hour, by day or in all (days in rules.timezone); `days`
        instead of `since`: from midnight `days - 1` days ago. See events.compliance."""
        tz = self.config.rules.tzinfo
        try:
            rows = self._require_store().sightings(days_back(days, tz) if days else since, until, camera)
            return compliance_table(rows, bucket, tz)
        except ValueError as err:
            raise UserError(f"bad filter: {err}") from None

    def daily_summary(self, day: date, cameras: frozenset[str] | None = None) -> tuple[str, str]:
        """(subject, body) of the summary mail for `day` (in rules.timezone): people per camera and zone, alerts;
        of `cameras` only, where given."""
        tz = self.config.rules.tzinfo
        start, end = midnight(day, tz), midnight(day + timedelta(days=1), tz)
        store = self._require_store()
        table = compliance_table(store.sightings(start, end), "all", tz)
        alerts = [e.to_json() for e in store.query(since=start, until=end, limit=10000)]
        if cameras is not None:
            table = [r for r in table if r["camera"] in cameras]
            alerts = [a for a in alerts if a["camera"] in cameras]
        return summary_text(day, table, alerts, self.config.rules.tzname)

    def review_event(self, event_id: int, review: str | None) -> dict | None:
        """'confirmed' or 'false_alarm' as said by whoever looked at the alert; None: not looked at yet."""
        try:
            found = self._require_store().set_review(event_id, review)
        except ValueError as err:
            raise UserError(str(err)) from None
        return found.to_json() if found else None

    def event(self, event_id: int) -> dict | None:
        found = self._require_store().get(event_id)
        return found.to_json() if found else None

    def snapshot_path(self, event_id: int) -> Path | None:
        event = self.event(event_id)
        return self.snapshots.resolve(event["snapshot"]) if event else None

    def clip_path(self, event_id: int) -> Path | None:
        event = self.event(event_id)
        return resolve_in(self.config.storage.clips, event["clip"]) if event else None

    def providers(self) -> list[str]:
        if self.remote:
            return self.remote.providers()
        if self.pipeline is None:
            return []
        return backend(self.config.detector.backend).providers(self.pipeline)

    def stats(self) -> dict:
        counts = (
            self.store.counts()
            if self.store
            else {"total": 0, "by_label": {}, "by_camera": {}, "by_review": {}, "pending_by_sink": {}}
        )
        cams = self.camera_status()
        sinks = {}
        if self.outbox:
            for s in self.sinks:
                sinks[s.name] = {
                    "delivered": self.outbox.delivered[s.name],
                    "failures": self.outbox.failures[s.name],
                    "pending": counts["pending_by_sink"].get(s.name, 0),
                    "last_error": self.outbox.last_error[s.name],
                }
        return {
            "uptime_seconds": round(time.time() - self.started_at, 1) if self.started_at else 0.0,
            "started_at": iso(self.started_at) if self.started_at else None,
            "providers": self.providers(),
            "time_zone": self.config.rules.tzname,  # zone hours are read in it
            "alert_labels": list(self.config.rules.alert_labels),  # where a zone sets none of its own
            "events_total": counts["total"],
            "events_by_label": {label: counts["by_label"].get(label, 0) for label in CLASSES},
            "events_by_camera": counts["by_camera"],
            "events_by_review": {r: counts["by_review"].get(r, 0) for r in REVIEW_STATES},
            "cameras": {c["name"]: c for c in cams},
            "cameras_online": sum(1 for c in cams if c["online"]),
            "frames_decoded": sum(c["frames_decoded"] for c in cams),
            "frames_dropped": sum(c["frames_dropped"] for c in cams),
            "frames_analysed": sum(c["frames_analysed"] for c in cams),
            "faces": sum(c["faces"] for c in cams),
            "masked": sum(c["masked"] for c in cams),
            "unmasked": sum(c["unmasked"] for c in cams),
            "sinks": sinks,
            "storage": self.storage_usage(),
            "clips": self.clip_counts(),
        }

    def clip_counts(self) -> dict | None:
        """Clips encoded and saved, dropped (the encoder fell behind) and waiting since the start; None where no clips
        are recorded here (off, or Ray mode: the shards record them)."""
        encoder = self.clip_encoder
        return encoder and {"written": encoder.written, "dropped": encoder.dropped, "waiting": encoder.waiting}

    def storage_usage(self) -> dict:
        """Bytes on disk: snapshots and clips (as of the retention job's last check, each minute) and the database."""
        st = self.config.storage
        usage = self.retention.usage if self.retention else {}
        try:
            database = sum(p.stat().st_size for p in st.database.parent.glob(st.database.name + "*"))  # -wal, -shm
        except OSError:
            database = 0
        return {
            "snapshots_bytes": usage.get("snapshot", 0),
            "clips_bytes": usage.get("clip", 0),
            "database_bytes": database,
            "max_media_bytes": st.max_media_mb and round(st.max_media_mb * 1e6),
        }

    def zones(self, camera: str) -> list[dict]:
        return [z.model_dump(mode="json") for z in self.config.camera(camera).zones]

    def set_zones(self, camera: str, zones: list[dict]) -> None:
        """Validated, applied to the running camera at once, and saved into the YAML file when there is one."""
        cam = self.config.camera(camera)
        try:
            parsed = TypeAdapter(list[ZoneConfig]).validate_python(zones)
        except ValidationError as err:
            e = err.errors()[0]
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"] if not _is_union_tag(p))
            raise UserError(f"zones{where}: {e['msg'].removeprefix('Value error, ')}") from None
        names = [z.name for z in parsed]
        if len(names) != len(set(names)):
            raise UserError(f"zone names repeat: {names}")
        with self._lock:
            if self.config_path:
                save_zones(self.config_path, camera, parsed)
            cam.zones = parsed
            rt = self._cameras.get(camera)
            if rt is not None:
                with rt.lock:
                    rt.rules.zones = make_zones(parsed, self.config.rules.tzinfo)
                    rt.jpeg_cache = {}
            if self.remote:
                self.remote.set_zones(camera, [z.model_dump(mode="json") for z in parsed])
        log.info("camera %s: %d zone(s) set", camera, len(parsed))
