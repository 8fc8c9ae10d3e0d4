"""The service as the web layer reads it: cameras, events, figures, files. Read-only; every answer is JSON-ready
(the records' own JSON: see maskwatch.core.records)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from maskwatch.analysis import CameraGroup
from maskwatch.backends import Pipeline, backend
from maskwatch.classify.classifier import MaskClassifier
from maskwatch.config import AppConfig
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES, REVIEW_STATES
from maskwatch.core.records import CameraStatus
from maskwatch.events import ClipRecording, compliance_table, days_back, iso, resolve_in, review_table
from maskwatch.events.times import TimeLike
from maskwatch.service.models import ActiveModel
from maskwatch.service.outputs import EventOutputs, daily_summary
from maskwatch.sources import describe

STALL_SECONDS = 30.0  # an analysis loop that has not gone round for this long makes /healthz answer 503
NO_COUNTS: dict[str, Any] = {"total": 0, "by_label": {}, "by_camera": {}, "by_review": {}, "pending_by_sink": {}}


class QueryFacade:
    """Mixed into the Service, whose parts it reads."""

    config: AppConfig
    outputs: EventOutputs
    cameras: CameraGroup | None  # None until started
    clips: ClipRecording | None  # None where no clips are recorded here (off, or Ray mode: the shards record)
    pipeline: Pipeline | None
    models: ActiveModel
    started_at: float | None

    @property
    def model_version(self) -> str | None:
        """The version of the classifier judging faces now (MaskClassifier.version), as events record it."""
        running = getattr(self.pipeline, "classifier", None)
        return running.version if isinstance(running, MaskClassifier) else self.models.version

    def _heartbeat(self) -> tuple[bool, float]:
        """(the loop that must go round is alive, seconds since it last went round)."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.started_at is not None

    def health(self) -> dict:
        """'ok' while the analysis loop (in Ray mode, the collector) goes round; 'stalled' when it has not for
        STALL_SECONDS or has died; 'stopped'. Cameras going offline do not count: they fail alone."""
        if not self.running:
            return {"status": "stopped"}
        alive, age = self._heartbeat()
        return {"status": "ok" if alive and age < STALL_SECONDS else "stalled", "analysis_seconds_ago": round(age, 1)}

    def camera_names(self) -> list[str]:
        return [c.name for c in self.config.cameras if c.enabled]

    def camera_records(self) -> list[CameraStatus]:
        """Every configured camera's state; those not analysed (disabled, or no shard answers) as offline."""
        running = {s.name: s for s in self.cameras.status()} if self.cameras else {}
        remote = self.cameras is not None and self.config.scale.ray is not None
        out = []
        for cam in self.config.cameras:
            if cam.name in running:
                out.append(running[cam.name])
                continue
            error = "disabled" if not cam.enabled else "no analysis shard answers" if remote else None
            source = describe(cam.source)
            out.append(
                CameraStatus(
                    name=cam.name, enabled=cam.enabled, online=False, last_error=error, source=source, kind=cam.kind
                )
            )
        return out

    def camera_status(self) -> list[dict]:
        return [s.to_json() for s in self.camera_records()]

    def result_delays(self, camera: str, since: float = 0.0) -> list[float]:
        """Seconds from each frame's decoding to its analysis result, for results after `since` (time.time())."""
        return self.cameras.result_delays(camera, since) if self.cameras else []

    def latest_jpeg(self, camera: str, annotated: bool = True) -> bytes | None:
        return self.cameras.latest_jpeg(camera, annotated) if self.cameras else None

    def events(
        self,
        camera: str | None = None,
        label: str | None = None,
        zone: str | None = None,
        since: TimeLike = None,
        limit: int = 100,
        offset: int = 0,
        review: str | None = None,
    ) -> list[dict]:
        store = self.outputs.require_store()
        try:
            found = store.query(camera, label, zone, since, limit=limit, offset=offset, review=review)
        except ValueError as err:
            raise UserError(f"bad filter: {err}") from None
        return [e.to_json() for e in found]

    def event(self, event_id: int) -> dict | None:
        found = self.outputs.event(event_id)
        return found.to_json() if found else None

    def compliance(
        self,
        since: TimeLike = None,
        until: TimeLike = None,
        camera: str | None = None,
        bucket: str = "day",
        days: int | None = None,
    ) -> list[dict]:
        """People seen per label, camera and zone, by hour, by day or in all (days in rules.timezone); `days`
        instead of `since`: from midnight `days - 1` days ago. See events.compliance."""
        tz = self.config.rules.tzinfo
        try:
            rows = self.outputs.require_store().sightings(days_back(days, tz) if days else since, until, camera)
            return compliance_table(rows, bucket, tz)
        except ValueError as err:
            raise UserError(f"bad filter: {err}") from None

    def reviews(self, days: int | None = None) -> list[dict]:
        """Alerts per camera and zone with what people said of them and the false-alarm rate among those reviewed;
        `days`: from midnight `days - 1` days ago (rules.timezone), None: all kept. See events.review_table."""
        since = days_back(days, self.config.rules.tzinfo) if days else None
        return review_table(self.outputs.require_store().review_counts(since))

    def daily_summary(self, day: date, cameras: frozenset[str] | None = None) -> tuple[str, str]:
        """(subject, body) of the summary mail for `day` (in rules.timezone), of `cameras` only where given."""
        return daily_summary(self.outputs.require_store(), self.config, day, cameras)

    def snapshot_path(self, event_id: int) -> Path | None:
        found = self.outputs.event(event_id)
        return self.outputs.snapshots.resolve(found.snapshot) if found else None

    def clip_path(self, event_id: int) -> Path | None:
        found = self.outputs.event(event_id)
        return resolve_in(self.config.storage.clips_folder, found.clip) if found else None

    def zones(self, camera: str) -> list[dict]:
        return [z.model_dump(mode="json") for z in self.config.camera(camera).zones]

    def providers(self) -> list[str]:
        if self.cameras is not None:
            return self.cameras.providers()
        return backend(self.config.detector.backend).providers(self.pipeline) if self.pipeline is not None else []

    def stats(self) -> dict:
        store = self.outputs.store
        counts = store.counts() if store else NO_COUNTS
        cams = self.camera_status()
        return {
            "uptime_seconds": round(time.time() - self.started_at, 1) if self.started_at else 0.0,
            "started_at": iso(self.started_at) if self.started_at else None,
            "providers": self.providers(),
            "model_version": self.model_version,
            "time_zone": self.config.rules.tzname,  # zone hours are read in it
            "alert_labels": list(self.config.rules.alert_labels),  # where a zone sets none of its own
            "events_total": counts["total"],
            "events_by_label": {label: counts["by_label"].get(label, 0) for label in CLASSES},
            "events_by_camera": counts["by_camera"],
            "events_by_review": {r: counts["by_review"].get(r, 0) for r in REVIEW_STATES},
            "cameras": {c["name"]: c for c in cams},
            "cameras_online": sum(1 for c in cams if c["online"]),
            **{key: sum(c[key] for c in cams) for key in ("frames_decoded", "frames_dropped", "frames_analysed")},
            **{key: sum(c[key] for c in cams) for key in ("faces", "masked", "unmasked")},
            "sinks": self.sink_stats(counts["pending_by_sink"]),
            "storage": self.storage_usage(),
            "clips": self.clip_counts(),
            "snapshots_failed": self.outputs.snapshots_failed,  # alerts kept without their snapshot
        }

    def sink_stats(self, pending: dict[str, int]) -> dict:
        outbox = self.outputs.outbox
        if outbox is None:
            return {}
        return {
            s.name: {
                "delivered": outbox.delivered[s.name],
                "failures": outbox.failures[s.name],
                "pending": pending.get(s.name, 0),
                "last_error": outbox.last_error[s.name],
            }
            for s in self.outputs.sinks
        }

    def clip_counts(self) -> dict | None:
        """Clips encoded and saved, dropped (the encoder fell behind) and waiting since the start; None where no clips
        are recorded here (off, or Ray mode: the shards record them)."""
        return self.clips.counts() if self.clips else None

    def storage_usage(self) -> dict:
        """Bytes on disk: snapshots and clips (as of the retention job's last check, each minute) and the database."""
        st = self.config.storage
        usage = self.outputs.retention.usage if self.outputs.retention else {}
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
