"""Alert events: list and export them, one event, its snapshot and clip, and what a reviewer said of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse

from maskwatch.events import events_csv
from maskwatch.web.defs.bodies import ReviewBody
from maskwatch.web.defs.common import EventId, Tag
from maskwatch.web.defs.queries import EventExport, EventPage
from maskwatch.web.defs.responses import Event
from maskwatch.web.deps import READ, WRITE, ServiceDep, current_role, errors, require_admin

MEDIA_CACHE = {"Cache-Control": "private, max-age=86400"}
PART: dict[int | str, dict[str, Any]] = {206: {"description": "the part asked for with Range (for seeking)"}}
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}

router = APIRouter(tags=[Tag.events], dependencies=[Depends(current_role)], responses=READ)


def csv_download(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/api/events")
def events(service: ServiceDep, query: Annotated[EventPage, Query()]) -> list[Event]:
    """Alert events, newest first."""
    return [Event(**e) for e in service.events(**query.model_dump())]


@router.get("/api/events.csv", response_class=Response, responses=CSV)
def events_export(service: ServiceDep, query: Annotated[EventExport, Query()]) -> Response:
    """The same events as a CSV file (newest first), for reports in a spreadsheet."""
    return csv_download(events_csv(service.events(**query.model_dump())), "maskwatch-events.csv")


@router.get("/api/events/{event_id}", responses=errors(404))
def event(event_id: EventId, service: ServiceDep) -> Event:
    found = service.event(event_id)
    if found is None:
        raise HTTPException(404, f"no event {event_id}")
    return Event(**found)


@router.put(
    "/api/events/{event_id}/review",
    dependencies=[Depends(require_admin)],
    responses={**WRITE, **errors(404)},
)
def review(event_id: EventId, body: ReviewBody, service: ServiceDep) -> Event:
    """What a person who looked at the alert said of it: `confirmed`, `false_alarm`, or null (not looked at)."""
    found = service.review_event(event_id, body.review)
    if found is None:
        raise HTTPException(404, f"no event {event_id}")
    return Event(**found)


@router.get(
    "/api/events/{event_id}/snapshot",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
        **PART,
        **errors(404),
    },
)
def snapshot(event_id: EventId, service: ServiceDep) -> FileResponse:
    """The event's frame with faces blurred (as stored by the service)."""
    path = service.snapshot_path(event_id)
    if path is None or not Path(path).is_file():
        raise HTTPException(404, f"no snapshot for event {event_id}")
    return FileResponse(path, media_type="image/jpeg", headers=MEDIA_CACHE)


@router.get(
    "/api/events/{event_id}/clip",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/webm": {"schema": {"type": "string", "format": "binary"}}}},
        **PART,
        **errors(404),
    },
)
def clip(event_id: EventId, service: ServiceDep) -> FileResponse:
    """A few seconds around the alert, faces hidden in every frame, boxes drawn (WebM, VP8). Alerts on one camera
    close together share a clip; it is ready clips.after_seconds after the last of them."""
    path = service.clip_path(event_id)
    if path is None:
        raise HTTPException(404, f"no clip for event {event_id}")
    return FileResponse(path, media_type="video/webm", headers=MEDIA_CACHE)
