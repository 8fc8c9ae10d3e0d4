"""Prometheus metrics read from the service's own state at scrape time (no second set of counters to keep in step)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from maskwatch.core.labels import REVIEW_STATES
from maskwatch.core.records import CameraStatus
from maskwatch.events import EventStore, review_table

if TYPE_CHECKING:
    from maskwatch.service.service import Service


def camera_metrics(cams: list[CameraStatus]) -> Iterator[Metric]:
    online = GaugeMetricFamily("maskwatch_camera_online", "1 when the camera delivers frames", labels=["camera"])
    fps = GaugeMetricFamily("maskwatch_camera_fps_analysed", "frames analysed per second", labels=["camera"])
    faces = GaugeMetricFamily("maskwatch_camera_faces", "faces in the last analysed frame", labels=["camera", "state"])
    decoded = CounterMetricFamily("maskwatch_frames_decoded", "frames decoded", labels=["camera"])
    dropped = CounterMetricFamily("maskwatch_frames_dropped", "frames overwritten before analysis", labels=["camera"])
    analysed = CounterMetricFamily("maskwatch_frames_analysed", "frames analysed", labels=["camera"])
    for c in cams:
        online.add_metric([c.name], 1.0 if c.online else 0.0)
        fps.add_metric([c.name], c.fps_analysed)
        faces.add_metric([c.name, "masked"], c.masked)
        faces.add_metric([c.name, "unmasked"], c.unmasked)
        decoded.add_metric([c.name], c.frames_decoded)
        dropped.add_metric([c.name], c.frames_dropped)
        analysed.add_metric([c.name], c.frames_analysed)
    yield from (online, fps, faces, decoded, dropped, analysed)


def store_metrics(store: EventStore, sinks: dict) -> Iterator[Metric]:
    counts = store.counts()
    events = CounterMetricFamily("maskwatch_events", "alert events in the store", labels=["camera", "label"])
    for camera, label, n in counts["by_camera_label"]:
        events.add_metric([camera, label], n)
    yield events
    reviewed = GaugeMetricFamily(
        "maskwatch_events_reviewed",
        "alert events in the store by what a person said of them (unreviewed, confirmed, false_alarm)",
        labels=["review"],
    )
    for review in REVIEW_STATES:
        reviewed.add_metric([review], counts["by_review"].get(review, 0))
    yield reviewed
    yield from review_metrics(review_table(store.review_counts()))
    people = GaugeMetricFamily(
        "maskwatch_people_seen",
        "tracked faces counted once under their label, in the store (within retention)",
        labels=["camera", "zone", "label"],
    )
    for camera, zone, label, n in store.people_totals():
        people.add_metric([camera, zone, label], n)
    yield people
    pending = GaugeMetricFamily("maskwatch_sink_pending", "events not yet delivered", labels=["sink"])
    delivered = CounterMetricFamily("maskwatch_sink_delivered", "events delivered", labels=["sink"])
    for name, s in sinks.items():
        pending.add_metric([name], s["pending"])
        delivered.add_metric([name], s["delivered"])
    yield pending
    yield delivered


def review_metrics(rows: list[dict]) -> Iterator[Metric]:
    """What people said of the alerts per camera and zone, and the false-alarm rate among those they reviewed."""
    by_review = GaugeMetricFamily(
        "maskwatch_alerts_reviewed",
        "alert events in the store per camera and zone by review (unreviewed, confirmed, false_alarm)",
        labels=["camera", "zone", "review"],
    )
    rate = GaugeMetricFamily(
        "maskwatch_false_alarm_ratio",
        "false alarms among the reviewed alert events in the store, per camera and zone (none until one is reviewed)",
        labels=["camera", "zone"],
    )
    for row in rows:
        zone = row["zone"] or ""
        for review in REVIEW_STATES:
            by_review.add_metric([row["camera"], zone, review], row[review])
        if row["false_alarm_rate"] is not None:
            rate.add_metric([row["camera"], zone], row["false_alarm_rate"])
    yield by_review
    yield rate


def media_metrics(usage: dict, clips: dict | None, snapshots_failed: int) -> Iterator[Metric]:
    storage = GaugeMetricFamily(
        "maskwatch_storage_bytes", "bytes on disk (snapshots and clips as of the last minute's check)", labels=["kind"]
    )
    for kind, n in usage.items():
        if kind != "max_media_bytes":
            storage.add_metric([kind.removesuffix("_bytes")], n)
    yield storage
    failed = CounterMetricFamily(
        "maskwatch_snapshots_failed", "alerts kept and sent without their snapshot (it could not be written)"
    )
    failed.add_metric([], snapshots_failed)
    yield failed
    if clips is not None:
        for name, text in (
            ("written", "alert clips encoded and saved"),
            ("dropped", "alert clips dropped because the encoder fell behind"),
        ):
            counter = CounterMetricFamily(f"maskwatch_clips_{name}", text)
            counter.add_metric([], clips[name])
            yield counter


class ServiceCollector:
    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        svc = self.service
        yield from camera_metrics(svc.camera_records())
        store = svc.store
        if store is not None:
            try:
                collected = list(store_metrics(store, svc.sink_stats(store.counts()["pending_by_sink"])))
            except Exception:  # noqa: BLE001 (store closed during shutdown)
                return
            yield from collected
        yield from media_metrics(svc.storage_usage(), svc.clip_counts(), svc.outputs.snapshots_failed)
        model = InfoMetricFamily("maskwatch_classifier", "the active mask classifier (as events record it)")
        model.add_metric([], {"version": svc.model_version or "unknown"})
        yield model
        uptime = GaugeMetricFamily("maskwatch_uptime_seconds", "seconds since start")
        started = svc.started_at
        uptime.add_metric([], round(time.time() - started, 1) if started else 0.0)
        yield uptime


def make_registry(service: Service) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(service))
    return registry
