"""Camera outage notices for the webhooks and e-mails that ask for them (`camera_status: true`).

A camera offline for `offline_seconds` is reported once, and again when it is back, so a reconnect that takes a
second does not page anyone. Each receiver gets the latest state of each camera, retried until delivered; a newer
state replaces one not yet delivered, since a receiver wants where things stand rather than every flap. Notices are
not stored: after a restart, a camera that is still down is reported again once it has been down that long.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from maskwatch.events import iso

log = logging.getLogger(__name__)


@dataclass
class OutageWatch:
    """Turns the cameras' online states, read every second or so, into the notices to send."""

    offline_seconds: float
    _offline_since: dict[str, float] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)  # cameras whose outage was reported

    def update(self, camera: str, online: bool, now: float) -> dict | None:
        if online:
            since = self._offline_since.pop(camera, None)
            if since is None or camera not in self._reported:
                return None
            self._reported.discard(camera)
            return {"online": True, "offline_since": iso(since), "offline_seconds": round(now - since, 1)}
        since = self._offline_since.setdefault(camera, now)
        if camera in self._reported or now - since < self.offline_seconds:
            return None
        self._reported.add(camera)
        return {"online": False, "offline_since": iso(since)}


class CameraNotices:
    """One delivery thread per receiver (a sink with post(): webhooks, e-mail), holding the latest undelivered
    notice per camera."""

    def __init__(self, receivers: list, retry_max: float = 30.0, retry_start: float = 1.0):
        self.receivers = list(receivers)
        self.retry_start, self.retry_max = retry_start, retry_max
        self._pending: list[dict[str, dict]] = [{} for _ in self.receivers]  # per receiver: camera -> body
        self._cond = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"notices-{r.name}", daemon=True)
            for i, r in enumerate(self.receivers)
        ]
        self.delivered = [0] * len(self.receivers)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def post(self, camera: str, body: dict) -> None:
        with self._cond:
            for receiver, pending in zip(self.receivers, self._pending, strict=True):
                if receiver.cameras is None or camera in receiver.cameras:
                    pending[camera] = body
            self._cond.notify_all()

    def stop(self, timeout: float = 1.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, i: int) -> None:
        receiver, pending = self.receivers[i], self._pending[i]
        backoff, next_try, last_error = self.retry_start, 0.0, None
        while True:
            with self._cond:
                while not self._stopping and not (pending and time.monotonic() >= next_try):
                    self._cond.wait(max(0.05, next_try - time.monotonic()) if pending else None)
                if self._stopping:
                    return
                camera, body = next(iter(pending.items()))
            try:
                receiver.post(body)
            except Exception as err:  # noqa: BLE001 (a receiver may fail in any way; retried)
                if str(err) != last_error:
                    log.warning("%s: camera notice for %s not delivered: %s (will retry)", receiver.name, camera, err)
                last_error = str(err)
                next_try, backoff = time.monotonic() + backoff, min(backoff * 2, self.retry_max)
                continue
            with self._cond:
                if pending.get(camera) is body:  # not replaced by a newer state meanwhile
                    del pending[camera]
                self.delivered[i] += 1
            backoff, last_error = self.retry_start, None
