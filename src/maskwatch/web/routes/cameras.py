"""Cameras: their state, the latest analysed frame, and an MJPEG stream of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from maskwatch.config import ZoneConfig
from maskwatch.web.defs.common import Tag
from maskwatch.web.defs.queries import FrameQuery, StreamQuery
from maskwatch.web.defs.responses import Camera
from maskwatch.web.deps import READ, CameraDep, ServiceDep, WebService, current_role, errors, shutting_down

BOUNDARY = "frame"
NO_STORE = {"Cache-Control": "no-store"}
KEEP_ALIVE_SECONDS = 5.0  # an idle camera's last frame is sent again this often

router = APIRouter(tags=[Tag.cameras], dependencies=[Depends(current_role)], responses=READ)


@router.get("/api/cameras", response_model_exclude_unset=True)
def cameras(service: ServiceDep) -> list[Camera]:
    """State of every camera (online, fps, counts) with its zones."""
    # every zone field is sent, defaults too: the route leaves out unset status fields, and a zone read from YAML
    # without `restricted:` would otherwise reach the page without it (and be shown as open)
    zones = {c.name: [ZoneConfig.model_validate(z.model_dump()) for z in c.zones] for c in service.config.cameras}
    return [Camera(**status, zones=zones.get(status["name"], [])) for status in service.camera_status()]


@router.get(
    "/api/cameras/{name}/frame.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
        **errors(404),
    },
)
def frame(cam: CameraDep, service: ServiceDep, query: Annotated[FrameQuery, Query()]) -> Response:
    """The latest analysed frame: boxes, labels, track ids and zones drawn; faces blurred when privacy.blur_live.
    503 while the camera has no frame yet (offline)."""
    jpeg = service.latest_jpeg(cam.name, annotated=query.annotated)
    if jpeg is None:
        raise HTTPException(503, f"camera {cam.name!r} has no frame yet")
    return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)


@router.get(
    "/api/cameras/{name}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}, **errors(404)},
)
async def stream(
    cam: CameraDep, service: ServiceDep, request: Request, query: Annotated[StreamQuery, Query()]
) -> StreamingResponse:
    """MJPEG of the latest frames (for an <img> tag); only new frames are sent."""
    headers = {**NO_STORE, "X-Accel-Buffering": "no"}
    parts = _mjpeg(request, service, cam.name, query)
    return StreamingResponse(parts, media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}", headers=headers)


async def _mjpeg(request: Request, service: WebService, name: str, query: StreamQuery) -> AsyncIterator[bytes]:
    yield f"--{BOUNDARY}\r\n".encode()
    last, last_sent = None, 0.0
    while not shutting_down(request):
        started = time.monotonic()
        jpeg = await run_in_threadpool(service.latest_jpeg, name, query.annotated)
        if jpeg is not None and (jpeg is not last or started - last_sent > KEEP_ALIVE_SECONDS):
            last, last_sent = jpeg, started
            # the closing boundary right after each part makes browsers show it at once
            head = f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
            yield head + jpeg + f"\r\n--{BOUNDARY}\r\n".encode()
        if await request.is_disconnected():
            break
        await asyncio.sleep(max(0.01, 1.0 / query.fps - (time.monotonic() - started)))
