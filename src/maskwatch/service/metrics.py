"""Prometheus metrics read from the service's own state at scrape time (no second set of counters to keep in step)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from maskwatch.events import REVIEW_STATES


class ServiceCollector:
    def __init__(self, service):
        self.service = service

    def collect(self):
        svc = self.service
        cams = svc.camera_status()
        metrics = {
            "online": GaugeMetricFamily(
                "maskwatch_camera_online", "1 when the camera delivers frames", labels=["camera"]
            ),
            "fps": GaugeMetricFamily("maskwatch_camera_fps_analysed", "frames analysed per second", labels=["camera"]),
            "faces": GaugeMetricFamily(
                "maskwatch_camera_faces", "faces in the last analysed frame", labels=["camera", "state"]
            ),
            "decoded": CounterMetricFamily("maskwatch_frames_decoded", "frames decoded", labels=["camera"]),
            "dropped": CounterMetricFamily(
                "maskwatch_frames_dropped", "frames overwritten before analysis", labels=["camera"]
            ),
            "analysed": CounterMetricFamily("maskwatch_frames_analysed", "frames analysed", labels=["camera"]),
        }
        for c in cams:
            n = c["name"]
            metrics["online"].add_metric([n], 1.0 if c["online"] else 0.0)
            metrics["fps"].add_metric([n], c["fps_analysed"])
            metrics["faces"].add_metric([n, "masked"], c["masked"])
            metrics["faces"].add_metric([n, "unmasked"], c["unmasked"])
            metrics["decoded"].add_metric([n], c["frames_decoded"])
            metrics["dropped"].add_metric([n], c["frames_dropped"])
            metrics["analysed"].add_metric([n], c["frames_analysed"])
        yield from metrics.values()
        if svc.store is not None:
            try:
                counts = svc.store.counts()
            except Exception:  # store closed during shutdown
                return
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
            people = GaugeMetricFamily(
                "maskwatch_people_seen",
                "tracked faces counted once under their label, in the store (within retention)",
                labels=["camera", "zone", "label"],
            )
            for camera, zone, label, n in svc.store.people_totals():
                people.add_metric([camera, zone, label], n)
            yield people
            stats = svc.stats()
            pending = GaugeMetricFamily("maskwatch_sink_pending", "events not yet delivered", labels=["sink"])
            delivered = CounterMetricFamily("maskwatch_sink_delivered", "events delivered", labels=["sink"])
            for name, s in stats["sinks"].items():
                pending.add_metric([name], s["pending"])
                delivered.add_metric([name], s["delivered"])
            yield pending
            yield delivered
        storage = GaugeMetricFamily(
            "maskwatch_storage_bytes",
            "bytes on disk (snapshots and clips as of the last minute's check)",
            labels=["kind"],
        )
        for kind, n in svc.storage_usage().items():
            if kind != "max_media_bytes":
                storage.add_metric([kind.removesuffix("_bytes")], n)
        yield storage
        clips = svc.clip_counts()
        if clips is not None:
            for name, text in (
                ("written", "alert clips encoded and saved"),
                ("dropped", "alert clips dropped because the encoder fell behind"),
            ):
                counter = CounterMetricFamily(f"maskwatch_clips_{name}", text)
                counter.add_metric([], clips[name])
                yield counter
        uptime = GaugeMetricFamily("maskwatch_uptime_seconds", "seconds since start")
        uptime.add_metric([], svc.stats()["uptime_seconds"] if svc.started_at else 0.0)
        yield uptime


def make_registry(service) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(service))
    return registry
