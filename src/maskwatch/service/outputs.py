"""Where alerts go: the event store (every alert is a row first, whatever happens to its snapshot), the outbox that
delivers them to the sinks, retention, camera outage notices and the daily summary mails."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np

from maskwatch.config import AppConfig
from maskwatch.core.errors import UserError
from maskwatch.core.records import Event
from maskwatch.events import (
    Clip,
    EventStore,
    Retention,
    RetentionJob,
    SnapshotWriter,
    clip_name,
    compliance_table,
    midnight,
    write_atomic,
)
from maskwatch.rules import Alert, Sighting
from maskwatch.sinks import CameraNotices, Outbox, SummarySink, make_sinks
from maskwatch.sinks.daily_summary import DailySummary, summary_text

log = logging.getLogger(__name__)


class EventOutputs:
    def __init__(self, config: AppConfig, cameras: list[str]):
        self.config, self.cameras = config, cameras
        st, pv = config.storage, config.privacy
        self.snapshots = SnapshotWriter(st.snapshots, st.jpeg_quality, pv.blur_method, pv.snapshot_show_offender)
        self.store: EventStore | None = None
        self.sinks: list = []
        self.outbox: Outbox | None = None
        self.retention: RetentionJob | None = None
        self.notices: CameraNotices | None = None  # camera outages, to the sinks that ask for them
        self.daily: list[DailySummary] = []  # the day before's figures, one per e-mail sink that asks
        self.model_version: Callable[[], str | None] = lambda: None  # the classifier judging faces now
        self.listeners: list[Callable[[dict], None]] = []  # each new event's JSON (the web's live stream)
        self.snapshots_failed = 0  # alerts kept without their snapshot, since the start
        self._snapshot_trouble: set[str] = set()  # cameras whose last snapshot could not be written

    def start(self) -> None:
        cfg = self.config
        self.sinks = make_sinks(cfg.sinks, self.cameras, self.snapshots.resolve, cfg.rules.tzinfo)
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
        for sink in self.sinks:
            if isinstance(sink, SummarySink) and sink.daily_summary:
                self.daily.append(self._summary_mail(sink, sink.daily_summary))
                self.daily[-1].start()

    def _summary_mail(self, sink: SummarySink, at: str) -> DailySummary:
        def compose(day: date) -> tuple[str, str]:
            return daily_summary(self.require_store(), self.config, day, sink.cameras)

        return DailySummary(sink.send_text, compose, at, self.config.rules.tzinfo)

    def stop(self, deadline: float) -> None:
        """Gives the sinks a last short chance, stops the threads and closes the store (flushed)."""
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

    def require_store(self) -> EventStore:
        if self.store is None:
            raise UserError("the service is not running")
        return self.store

    # --- recording ---------------------------------------------------------------------------------------------

    def record_frame_alert(self, alert: Alert, image: np.ndarray, hidden: np.ndarray, offender: int) -> int:
        """Stores an alert raised on this machine, with its snapshot (faces hidden) where snapshots are kept."""
        snapshot = None
        if self.config.privacy.save_snapshots:
            a, write = alert, self.snapshots.write
            snapshot = self._snapshot(
                a, lambda: write(image, hidden, offender, a.camera, a.track_id, a.time, a.label, a.confidence)
            )
        return self.add_event(alert, snapshot)

    def record_remote_alert(self, alert: Alert, jpeg: bytes | None) -> int:
        """Stores an alert raised by a Ray shard, with the snapshot JPEG it sent (faces already hidden)."""
        save = self.snapshots.save
        snapshot = self._snapshot(alert, lambda: save(jpeg, alert.camera, alert.track_id, alert.time)) if jpeg else None
        return self.add_event(alert, snapshot)

    def _snapshot(self, alert: Alert, write: Callable[[], str]) -> str | None:
        """The snapshot's name, or None when it cannot be written (folder full or unwritable): the event is kept
        and sent without it, counted, and logged once per camera until snapshots work again."""
        try:
            rel = write()
        except Exception as err:  # noqa: BLE001 (the event is kept without its snapshot, whatever failed)
            self.snapshots_failed += 1
            if alert.camera not in self._snapshot_trouble:
                self._snapshot_trouble.add(alert.camera)
                log.warning(
                    "camera %s: snapshot not written (%s): its alerts are kept and sent without one until it works",
                    alert.camera,
                    err,
                )
            return None
        if alert.camera in self._snapshot_trouble:
            self._snapshot_trouble.discard(alert.camera)
            log.info("camera %s: snapshots are written again", alert.camera)
        return rel

    def add_event(self, alert: Alert, snapshot: str | None) -> int:
        store = self.require_store()
        a = alert
        event_id = store.add(
            a.time,
            a.camera,
            a.zone,
            a.track_id,
            a.label,
            a.confidence,
            snapshot,
            a.box,
            held_seconds=a.held_seconds,
            model_version=self.model_version(),
        )
        if self.outbox:
            self.outbox.notify()
        event = store.get(event_id)
        assert event is not None  # just stored
        for fn in list(self.listeners):
            try:
                fn(event.to_json())
            except Exception:
                log.exception("event listener failed")
        return event_id

    def find_event(self, alert: Alert) -> int | None:
        """The event stored for this alert already (a shard hands over again what the head had not acknowledged)."""
        return self.require_store().find(alert.camera, alert.track_id, alert.time)

    def add_sightings(self, sightings: list[Sighting]) -> None:
        if sightings:
            self.require_store().add_sightings(sightings)

    def save_clip(self, clip: Clip, webm: bytes, event_ids: list[int]) -> None:
        rel = clip_name(clip.camera, clip.start)
        write_atomic(self.config.storage.clips_folder / rel, webm)
        self.require_store().set_clip(event_ids, rel)

    def event(self, event_id: int) -> Event | None:
        return self.require_store().get(event_id)


def daily_summary(
    store: EventStore, config: AppConfig, day: date, cameras: frozenset[str] | None = None
) -> tuple[str, str]:
    """(subject, body) of the summary mail for `day` (in rules.timezone): people per camera and zone, alerts; of
    `cameras` only, where given."""
    tz = config.rules.tzinfo
    start, end = midnight(day, tz), midnight(day + timedelta(days=1), tz)
    table = compliance_table(store.sightings(start, end), "all", tz)
    alerts = [e.to_json() for e in store.query(since=start, until=end, limit=10000)]
    if cameras is not None:
        table = [r for r in table if r["camera"] in cameras]
        alerts = [a for a in alerts if a["camera"] in cameras]
    return summary_text(day, table, alerts, config.rules.tzname)
