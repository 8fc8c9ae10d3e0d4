"""New alerts as Server-Sent Events, resuming after the last one seen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from maskwatch.web.defs.common import MAX_INT64, Tag
from maskwatch.web.defs.queries import LiveEvents
from maskwatch.web.deps import READ, ServiceDep, WebService, current_role, shutting_down
from maskwatch.web.live import sse_message

KEEP_ALIVE_SECONDS = 15.0
MISSED_MAX = 200  # stored events sent on resuming, at most

router = APIRouter(tags=[Tag.events], dependencies=[Depends(current_role)], responses=READ)
LastEventId = Annotated[
    int | None, Header(ge=0, le=MAX_INT64, description="sent by EventSource on reconnecting: resume after it")
]


@router.get(
    "/api/events/live",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def live(
    request: Request,
    service: ServiceDep,
    query: Annotated[LiveEvents, Query()],
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """Server-Sent Events: one `alert` message per new event (JSON as in /api/events). Resumes after
    `Last-Event-ID` (sent by EventSource on reconnect) or `?after=<id>`."""
    after = last_event_id if last_event_id is not None else query.after
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_messages(request, service, after), media_type="text/event-stream", headers=headers)


async def _messages(request: Request, service: WebService, after: int | None) -> AsyncIterator[bytes]:
    hub = request.app.state.hub
    queue = hub.subscribe()
    try:
        yield b"retry: 3000\n\n"
        sent = -1
        if after is not None:
            sent = after
            for event in reversed(await run_in_threadpool(service.events, limit=MISSED_MAX)):
                if event["id"] > sent:
                    sent = event["id"]
                    yield sse_message(event)
        idle = 0.0
        while not shutting_down(request):
            try:
                event = await asyncio.wait_for(queue.get(), 1.0)
            except TimeoutError:
                idle += 1.0
                if idle >= KEEP_ALIVE_SECONDS:
                    idle = 0.0
                    yield b": keep-alive\n\n"
                if await request.is_disconnected():
                    break
                continue
            if event["id"] > sent:
                sent = event["id"]
                yield sse_message(event)
    finally:
        hub.unsubscribe(queue)
