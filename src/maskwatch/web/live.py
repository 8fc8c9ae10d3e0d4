"""New events from the service's worker thread to Server-Sent Events subscribers on the asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading

QUEUE_SIZE = 200


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []

    def publish(self, event: dict) -> None:
        """Called from any thread (the service's analysis thread)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):  # a closed loop; its subscriber goes at unsubscribe
                loop.call_soon_threadsafe(_put_dropping_oldest, queue, event)

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subscribers = [(lp, q) for lp, q in self._subscribers if q is not queue]

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)


def _put_dropping_oldest(queue: asyncio.Queue, event: dict) -> None:
    """A stalled client loses its oldest events (it can reload them from /api/events) rather than growing memory."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(event)


def sse_message(event: dict) -> bytes:
    return f"id: {event['id']}\nevent: alert\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
