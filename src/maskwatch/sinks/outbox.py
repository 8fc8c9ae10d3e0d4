"""The outbox: delivers stored events to every sink, marking each delivered only after success.

Undelivered events stay in the store and are retried with a per-sink backoff, so a sink that is down
(broker restarting, webhook receiver offline) loses nothing and does not hold up the other sinks.
"""

from __future__ import annotations

import logging
import threading
import time

from maskwatch.events import EventStore

log = logging.getLogger(__name__)


class Outbox(threading.Thread):
    def __init__(self, store: EventStore, sinks: list, retry_max: float = 30.0, retry_start: float = 1.0):
        super().__init__(name="outbox", daemon=True)
        self.store, self.sinks = store, list(sinks)
        self.retry_start, self.retry_max = retry_start, retry_max
        self._wake = threading.Event()
        self._stop_event = threading.Event()
        self._next_try = {s.name: 0.0 for s in self.sinks}
        self._backoff = {s.name: retry_start for s in self.sinks}
        self.delivered = {s.name: 0 for s in self.sinks}
        self.failures = {s.name: 0 for s in self.sinks}
        self.last_error: dict[str, str | None] = {s.name: None for s in self.sinks}

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop_event.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._wake.clear()
            try:
                self.flush_once()
            except Exception:  # the store went away under us at shutdown, or a bug: never end the thread silently
                if self._stop_event.is_set():
                    return
                log.exception("outbox pass failed")
                self._stop_event.wait(1.0)
            waits = [t - time.monotonic() for t in self._next_try.values() if t > time.monotonic()]
            self._wake.wait(min([1.0] + waits))

    def flush_once(self, deadline: float | None = None) -> None:
        """One pass over every sink that is due; each stops at its first failure."""
        for sink in self.sinks:
            if self._stop_event.is_set() and deadline is None:
                return
            if time.monotonic() < self._next_try[sink.name]:
                continue
            for event in self.store.pending(sink.name):
                if deadline is not None and time.monotonic() > deadline:
                    return
                try:
                    sink.send(event)
                except Exception as err:
                    self._failed(sink.name, event["id"], str(err) or type(err).__name__)
                    break
                self.store.mark_delivered(event["id"], sink.name)
                self.delivered[sink.name] += 1
                self._backoff[sink.name] = self.retry_start
                self.last_error[sink.name] = None

    def _failed(self, sink: str, event_id: int, error: str) -> None:
        self.store.mark_failed(event_id, sink, error)
        self.failures[sink] += 1
        if self.last_error[sink] != error:
            log.warning("sink %s: %s (event %d kept, will retry)", sink, error, event_id)
        self.last_error[sink] = error
        self._next_try[sink] = time.monotonic() + self._backoff[sink]
        self._backoff[sink] = min(self._backoff[sink] * 2, self.retry_max)
