"""The FastAPI app: REST API, live streams (MJPEG, Server-Sent Events), Prometheus metrics and the page."""

from __future__ import annotations

import asyncio
import html
import importlib.resources
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from maskwatch.config import ZoneConfig
from maskwatch.core.errors import UserError
from maskwatch.core.labels import Label
from maskwatch.core.labels import Review as ReviewValue
from maskwatch.core.labels import ReviewState as ReviewFilter
from maskwatch.events import compliance_csv, events_csv
from maskwatch.web.auth import TokenAuth, WrongTokens, clear_cookie, client_address, role_of, safe_next, session_cookie
from maskwatch.web.live import EventHub, sse_message

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = importlib.resources.files("fastapi_offline") / "static"  # Swagger UI 5, which reads OpenAPI 3.1
Time = Annotated[str | None, Query(description="ISO 8601 time or epoch seconds")]
Days = Annotated[
    int | None,
    Query(ge=1, le=3660, description="instead of since: from midnight days - 1 days ago (1: today), in rules.timezone"),
]
Bucket = Literal["hour", "day", "all"]
BOUNDARY = "frame"
NO_STORE = {"Cache-Control": "no-store"}


class Review(BaseModel):
    review: ReviewValue | None


def _csv_download(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def create_app(service) -> FastAPI:
    """The web UI and API over a running (or about to run) `maskwatch.service.Service`."""
    service.config.ensure_token()
    closing = threading.Event()  # set at the app's shutdown so that endless streams end instead of holding it up
    service_closing = getattr(
        service, "closing", None
    )  # the service's own flag: `serve` sets it before stopping uvicorn

    def shutting_down() -> bool:
        return closing.is_set() or (service_closing is not None and service_closing.is_set())

    hub = EventHub()
    service.add_event_listener(hub.publish)

    @asynccontextmanager
    async def lifespan(_app):
        closing.clear()
        yield
        closing.set()

    # /docs is served from the fastapi-offline wheel's copy of Swagger UI, not FastAPI's CDN: sites without
    # internet get it too.
    app = FastAPI(
        title="maskwatch",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Face-mask compliance: cameras, events and zones. Every route but /healthz needs the "
        "access token: `Authorization: Bearer <token>`, the login cookie, or `?token=`.",
    )
    app.state.service = service
    app.state.hub = hub

    def tokens() -> dict[str, str | None]:  # read at each request: a changed token applies at once
        return {"admin": service.config.ui.token, "viewer": service.config.ui.viewer_token}

    wrong = app.state.wrong_tokens = WrongTokens(service.config.ui.wrong_tokens_per_minute)
    app.add_middleware(TokenAuth, get_tokens=tokens, wrong=wrong)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=str(DOCS_ASSETS)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def api_docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="maskwatch API",
            swagger_favicon_url="/docs-assets/favicon.png",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
        )

    @app.exception_handler(UserError)
    async def _user_error(_request, err: UserError):
        running = getattr(service, "running", True)
        return JSONResponse({"detail": str(err)}, status_code=422 if running else 503)

    def camera_config(name: str):
        for cam in service.config.cameras:
            if cam.name == name:
                return cam
        raise HTTPException(404, f"no camera named {name!r}")

    def zones_of(cam) -> list[dict]:
        return [z.model_dump(mode="json") for z in cam.zones]

    # --- open routes ---------------------------------------------------------------------------------------------

    @app.get("/healthz", tags=["service"], responses={503: {"description": "analysis stalled or service stopped"}})
    def healthz():
        """For load balancers and container health checks: 200 while the analysis loop goes round, else 503."""
        health = service.health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(next: str = "/", error: str | None = None):
        return _login_html(next, "Wrong access token." if error else "")

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        client = client_address(request.scope)
        if wait := wrong.wait_seconds(client):
            return HTMLResponse(
                _login_html(form.get("next", "/"), f"Too many wrong tokens from this address: try again in {wait} s."),
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        known = tokens()
        role = role_of(form.get("token", "").strip(), known)
        if role is None:
            wrong.failed(client)
            return HTMLResponse(_login_html(form.get("next", "/"), "Wrong access token."), status_code=401)
        response = RedirectResponse(safe_next(form.get("next")), status_code=303)
        response.headers["set-cookie"] = session_cookie(known[role], secure=request.url.scheme == "https")
        return response

    # --- page ----------------------------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers=NO_STORE)

    @app.post("/logout", include_in_schema=False)
    def logout():
        response = RedirectResponse("/login", status_code=303)
        response.headers["set-cookie"] = clear_cookie()
        return response

    @app.get("/api/me", tags=["service"])
    def me(request: Request) -> dict:
        """The role of the token in use: `admin` (everything) or `viewer` (read only: ui.viewer_token)."""
        return {"role": request.state.role}

    # --- cameras -------------------------------------------------------------------------------------------------

    @app.get("/api/cameras", tags=["cameras"])
    def cameras() -> list[dict]:
        """State of every camera (online, fps, counts) with its zones."""
        by_name = {c.name: c for c in service.config.cameras}
        out = []
        for status in service.camera_status():
            cam = by_name.get(status["name"])
            out.append({**status, "zones": zones_of(cam) if cam else []})
        return out

    @app.get("/api/cameras/{name}/zones", tags=["cameras"])
    def get_zones(name: str) -> list[dict]:
        return zones_of(camera_config(name))

    @app.put(
        "/api/cameras/{name}/zones",
        tags=["cameras"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["zones"],
                            "properties": {"zones": {"type": "array", "items": ZoneConfig.model_json_schema()}},
                        }
                    }
                },
            }
        },
    )
    async def put_zones(name: str, request: Request):
        """Replace the camera's zones (relative polygon coordinates 0..1); applied at once and saved to the config."""
        cam = camera_config(name)
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(422, 'the body must be JSON: {"zones": [{"name", "polygon", "restricted"}]}') from None
        zones = body.get("zones") if isinstance(body, dict) else body
        if not isinstance(zones, list):
            raise HTTPException(422, "zones: a list of {name, polygon: [[x, y], ...], restricted} is required")
        try:
            await run_in_threadpool(service.set_zones, name, zones)
        except (UserError, ValueError) as err:
            raise HTTPException(422, str(err)) from None
        return {"camera": name, "zones": zones_of(cam)}

    def frame_or_none(name: str, annotated: bool) -> bytes | None:
        camera_config(name)
        return service.latest_jpeg(name, annotated=annotated)

    @app.get(
        "/api/cameras/{name}/frame.jpg",
        tags=["cameras"],
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}, 503: {"description": "no frame yet (camera offline)"}},
    )
    def frame(name: str, annotated: bool = True):
        """The latest analysed frame: boxes, labels, track ids and zones drawn; faces blurred when privacy.blur_live."""
        jpeg = frame_or_none(name, annotated)
        if jpeg is None:
            raise HTTPException(503, f"camera {name!r} has no frame yet")
        return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)

    @app.get(
        "/api/cameras/{name}/stream",
        tags=["cameras"],
        response_class=StreamingResponse,
        responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
    )
    async def stream(name: str, request: Request, fps: float = Query(5.0, gt=0, le=15), annotated: bool = True):
        """MJPEG of the latest annotated frames (for an <img> tag); only new frames are sent."""
        camera_config(name)

        async def parts():
            yield f"--{BOUNDARY}\r\n".encode()
            last, last_sent = None, 0.0
            while not shutting_down():
                started = time.monotonic()
                jpeg = await run_in_threadpool(service.latest_jpeg, name, annotated)
                # the same frame again only as a keep-alive, so that an idle camera still shows its last frame
                if jpeg is not None and (jpeg is not last or started - last_sent > 5.0):
                    last, last_sent = jpeg, started
                    # the closing boundary right after each part makes browsers show it at once
                    yield (
                        f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                        + jpeg
                        + f"\r\n--{BOUNDARY}\r\n".encode()
                    )
                if await request.is_disconnected():
                    break
                await asyncio.sleep(max(0.01, 1.0 / fps - (time.monotonic() - started)))

        headers = {**NO_STORE, "X-Accel-Buffering": "no"}
        return StreamingResponse(parts(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}", headers=headers)

    # --- events --------------------------------------------------------------------------------------------------

    @app.get("/api/events", tags=["events"])
    def events(
        camera: str | None = None,
        label: Label | None = None,
        zone: str | None = None,
        since: Time = None,
        review: ReviewFilter | None = None,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> list[dict]:
        """Alert events, newest first."""
        return service.events(
            camera=camera, label=label, zone=zone, since=since, limit=limit, offset=offset, review=review
        )

    @app.get(
        "/api/events.csv", tags=["events"], response_class=Response, responses={200: {"content": {"text/csv": {}}}}
    )
    def events_export(
        camera: str | None = None,
        label: Label | None = None,
        zone: str | None = None,
        since: Time = None,
        review: ReviewFilter | None = None,
        limit: int = Query(10000, ge=1, le=10000),
    ) -> Response:
        """The same events as a CSV file (newest first), for reports in a spreadsheet."""
        rows = service.events(camera=camera, label=label, zone=zone, since=since, limit=limit, review=review)
        return _csv_download(events_csv(rows), "maskwatch-events.csv")

    @app.get(
        "/api/events/live",
        tags=["events"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def live(request: Request):
        """Server-Sent Events: one `alert` message per new event (JSON as in /api/events). Resumes after
        `Last-Event-ID` (sent by EventSource on reconnect) or `?after=<id>`."""
        queue = hub.subscribe()
        after = request.headers.get("last-event-id") or request.query_params.get("after")

        async def messages():
            try:
                yield b"retry: 3000\n\n"
                sent = -1
                if after and after.isdigit():
                    sent = int(after)
                    missed = await run_in_threadpool(service.events, limit=200)
                    for event in reversed(missed):
                        if event["id"] > sent:
                            sent = event["id"]
                            yield sse_message(event)
                idle = 0.0
                while not shutting_down():
                    try:
                        event = await asyncio.wait_for(queue.get(), 1.0)
                    except asyncio.TimeoutError:
                        idle += 1.0
                        if idle >= 15.0:
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

        return StreamingResponse(
            messages(), media_type="text/event-stream", headers={**NO_STORE, "X-Accel-Buffering": "no"}
        )

    @app.get("/api/events/{event_id}", tags=["events"])
    def event(event_id: int) -> dict:
        found = service.event(event_id)
        if found is None:
            raise HTTPException(404, f"no event {event_id}")
        return found

    @app.get("/api/compliance", tags=["events"])
    def compliance(
        since: Time = None, until: Time = None, days: Days = None, camera: str | None = None, bucket: Bucket = "day"
    ) -> list[dict]:
        """People seen (each tracked face counted once, under the worst label it held for rules.min_seconds), per
        camera and zone, by hour, by day or over the whole span; masked_share is mask / people. Without since or
        days: the last 7 days."""
        return service.compliance(
            since=since, until=until, camera=camera, bucket=bucket, days=days if days or since else 7
        )

    @app.get(
        "/api/compliance.csv", tags=["events"], response_class=Response, responses={200: {"content": {"text/csv": {}}}}
    )
    def compliance_export(
        since: Time = None, until: Time = None, days: Days = None, camera: str | None = None, bucket: Bucket = "day"
    ) -> Response:
        """The same figures as a CSV file, for reports in a spreadsheet."""
        rows = compliance(since=since, until=until, days=days, camera=camera, bucket=bucket)
        return _csv_download(compliance_csv(rows), "maskwatch-compliance.csv")

    @app.put("/api/events/{event_id}/review", tags=["events"])
    def review(event_id: int, body: Review) -> dict:
        """What a person who looked at the alert said of it: `confirmed`, `false_alarm`, or null (not looked at)."""
        found = service.review_event(event_id, body.review)
        if found is None:
            raise HTTPException(404, f"no event {event_id}")
        return found

    @app.get(
        "/api/events/{event_id}/snapshot",
        tags=["events"],
        response_class=FileResponse,
        responses={200: {"content": {"image/jpeg": {}}}},
    )
    def snapshot(event_id: int):
        """The event's frame with faces blurred (as stored by the service)."""
        path = service.snapshot_path(event_id)
        if path is None or not Path(path).is_file():
            raise HTTPException(404, f"no snapshot for event {event_id}")
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})

    @app.get(
        "/api/events/{event_id}/clip",
        tags=["events"],
        response_class=FileResponse,
        responses={200: {"content": {"video/webm": {}}}},
    )
    def clip(event_id: int):
        """A few seconds around the alert, faces hidden in every frame, boxes drawn (WebM, VP8). Alerts on one camera
        close together share a clip; it is ready clips.after_seconds after the last of them."""
        path = service.clip_path(event_id)
        if path is None:
            raise HTTPException(404, f"no clip for event {event_id}")
        return FileResponse(path, media_type="video/webm", headers={"Cache-Control": "private, max-age=86400"})

    # --- service -------------------------------------------------------------------------------------------------

    @app.get("/api/stats", tags=["service"])
    def stats() -> dict:
        return service.stats()

    @app.get(
        "/metrics", tags=["service"], response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}}
    )
    def metrics():
        """Prometheus text format."""
        return Response(generate_latest(service.metrics_registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _login_html(next_path: str, error: str) -> str:
    page = (STATIC / "login.html").read_text(encoding="utf-8")
    return (
        page.replace("{{next}}", html.escape(safe_next(next_path), quote=True))
        .replace("{{error}}", html.escape(error))
        .replace("{{error_class}}", "error" if error else "error hidden")
    )
