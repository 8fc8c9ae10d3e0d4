"""Each camera's state where it is watched from outside: a retained message per camera on the sinks that show states
(MQTT), sent when it changes, and outage notices (offline for sinks.camera_offline_seconds, and back) for the
sinks that ask for them."""

from __future__ import annotations

from collections.abc import Callable

from maskwatch.core.records import CameraStatus
from maskwatch.events import iso
from maskwatch.sinks import CameraNotices, OutageWatch, StatusSink

PUBLISHED = ("online", "faces", "masked", "unmasked", "last_error")  # the retained state, with its time


class StatusPublisher:
    def __init__(self, sinks: list, notices: CameraNotices | None, offline_seconds: float):
        self.status_sinks: list[StatusSink] = [s for s in sinks if isinstance(s, StatusSink)]
        self.notices = notices
        self.outages = OutageWatch(offline_seconds)
        self._published: dict[str, dict] = {}  # camera -> the state last sent

    def publish(self, statuses: Callable[[], list[CameraStatus]], now: float) -> None:
        """Reads the cameras' states (only when someone listens: it may ask remote shards) and sends what changed."""
        ready = [s for s in self.status_sinks if s.ready()]
        if not ready and self.notices is None:
            return
        for cam in statuses():
            if not cam.enabled:
                continue
            if self.notices is not None:
                self._notice(cam, now)
            state = {k: getattr(cam, k) for k in PUBLISHED}
            if ready and state != self._published.get(cam.name):  # retained: a dashboard connecting later sees it
                for sink in ready:
                    sink.publish_status(cam.name, {**state, "time": iso(now)})
                self._published[cam.name] = state

    def _notice(self, cam: CameraStatus, now: float) -> None:
        notice = self.outages.update(cam.name, cam.online, now)
        if notice and self.notices is not None:
            self.notices.post(
                cam.name,
                {"type": "camera_status", "camera": cam.name, **notice, "last_error": cam.last_error, "time": iso(now)},
            )
