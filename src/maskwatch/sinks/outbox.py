"""The outbox: delivers stored events to every sink, marking each delivered only after success.

Undelivered events stay in the store and are retried with a per-sink backoff, so a sink that is down
(broker restarting, webhook receiver offline) loses nothing. Each sink has its own worker thread, so a
sink that hangs until its timeout does not hold up the others.
"""

from __future__ import annotations

import logging
import threading
import time

from maskwatch.events import EventStore
from maskwatch.sinks.base import Sink

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, store: EventStore, sinks: list, retry_max: float = 30.0, retry_start: float = 1.0):
        self.store, self.sinks = store, list(sinks)
        self.retry_start, self.retry_max = retry_start, retry_max
        self._stop_event = threading.Event()
        self._wake = {s.name: threading.Event() for s in self.sinks}
        self._threads: dict[str, threading.Thread] = {}
        self._next_try = {s.name: 0.0 for s in self.sinks}
        self._backoff = {s.name: retry_start for s in self.sinks}
        self.delivered = {s.name: 0 for s in self.sinks}
        self.failures = {s.name: 0 for s in self.sinks}
        self.last_error: dict[str, str | None] = {s.name: None for s in self.sinks}

    def start(self) -> None:
        for sink in self.sinks:
            thread = threading.Thread(target=self._run, args=(sink,), name=f"outbox-{sink.name}", daemon=True)
            self._threads[sink.name] = thread
            thread.start()

    def notify(self) -> None:
        for wake in self._wake.values():
            wake.set()

    def stop(self) -> None:
        self._stop_event.set()
        self.notify()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads.values():
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def is_alive(self) -> bool:
        return any(t.is_alive() for t in self._threads.values())

    def _run(self, sink: Sink) -> None:
        wake = self._wake[sink.name]
        while not self._stop_event.is_set():
            wake.clear()
            more = False
            try:
                more = self._flush_sink(sink)
            except Exception:  # the store went away under us at shutdown, or a bug: never end the thread silently
                if self._stop_event.is_set():
                    return
                log.exception("outbox %s: pass failed", sink.name)
            if not more:  # new events wake it at once; the timeout only paces retries
                wake.wait(min(1.0, max(0.05, self._next_try[sink.name] - time.monotonic())))

    def flush_once(self, deadline: float | None = None) -> None:
        """One pass over every sink that is due and whose worker is not busy (used at shutdown)."""
        for sink in self.sinks:
            thread = self._threads.get(sink.name)
            if thread is None or not thread.is_alive():
                self._flush_sink(sink, deadline)

    def _flush_sink(self, sink: Sink, deadline: float | None = None, batch: int = 50) -> bool:
        """Sends the sink's pending events oldest first, stopping at the first failure; True if more may wait."""
        if time.monotonic() < self._next_try[sink.name]:
            return False
        events = self.store.pending(sink.name, limit=batch)
        for event in events:
            if (deadline is not None and time.monotonic() > deadline) or (
                self._stop_event.is_set() and deadline is None
            ):
                return False
            try:
                sink.send(event)
            except Exception as err:  # noqa: BLE001 (a sink raises whatever its transport raises; retried)
                self._failed(sink.name, event.id, str(err) or type(err).__name__)
                return False
            self.store.mark_delivered(event.id, sink.name)
            self.delivered[sink.name] += 1
            self._backoff[sink.name] = self.retry_start
            self.last_error[sink.name] = None
        return len(events) == batch

    def _failed(self, sink: str, event_id: int, error: str) -> None:
        self.store.mark_failed(event_id, sink, error)
        self.failures[sink] += 1
        if self.last_error[sink] != error:
            log.warning("sink %s: %s (event %d kept, will retry)", sink, error, event_id)
        self.last_error[sink] = error
        self._next_try[sink] = time.monotonic() + self._backoff[sink]
        self._backoff[sink] = min(self._backoff[sink] * 2, self.retry_max)
