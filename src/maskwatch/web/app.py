"""The FastAPI app: the routers of `maskwatch.web.routes` over a running service, behind the access check, the body
limits and (where ui.trusted_proxies names them) the reverse proxies' forwarded addresses.

The middleware, outermost first: forwarded headers (trusted proxies only) → body limits → access token → FastAPI.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from maskwatch.config import _is_union_tag, one_line
from maskwatch.core.errors import UserError
from maskwatch.web.auth import TokenAuth, WrongTokens
from maskwatch.web.deps import WebService
from maskwatch.web.limits import BodyLimit
from maskwatch.web.live import EventHub
from maskwatch.web.routes import ROUTERS
from maskwatch.web.routes.system import DOCS_ASSETS, STATIC
from maskwatch.web.sessions import SessionStore

SESSIONS_FILE = "web-sessions.json"  # beside the event database

DESCRIPTION = (
    "Face-mask compliance: cameras, events, zones and figures. Every route but /healthz needs a token: "
    "`Authorization: Bearer <token>`, the login session's cookie, or `?token=`. The viewer token "
    '(ui.viewer_token) reads everything and changes nothing (403). Errors are answered as `{"detail": "..."}`.'
)


def create_app(service: WebService) -> FastAPI:
    """The web UI and API over a running (or about to run) `maskwatch.service.Service`."""
    ui = service.config.ui
    service.config.ensure_token()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        app.state.closing.clear()
        yield
        app.state.closing.set()  # endless streams end instead of holding the shutdown up

    # /docs is served from the fastapi-offline wheel's copy of Swagger UI, not FastAPI's CDN: sites without
    # internet get it too.
    app = FastAPI(
        title="maskwatch", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.service = service
    app.state.closing = threading.Event()
    app.state.hub = EventHub()
    service.add_event_listener(app.state.hub.publish)
    # read at each request: a changed token applies at once
    app.state.tokens = lambda: {"admin": service.config.ui.token, "viewer": service.config.ui.viewer_token}
    app.state.wrong_tokens = WrongTokens(ui.wrong_tokens_per_minute)
    app.state.sessions = SessionStore(service.config.storage.database.parent / SESSIONS_FILE)

    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=str(DOCS_ASSETS)), name="docs-assets")
    app.add_exception_handler(UserError, _user_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)

    app.add_middleware(
        TokenAuth, get_tokens=app.state.tokens, wrong=app.state.wrong_tokens, sessions=app.state.sessions
    )
    app.add_middleware(BodyLimit)
    if ui.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(ui.trusted_proxies))
    return app


async def _user_error(request: Request, err: Exception) -> JSONResponse:
    running = getattr(request.app.state.service, "running", True)
    return JSONResponse({"detail": str(err)}, status_code=422 if running else 503)


async def _invalid_request(_request: Request, err: Exception) -> JSONResponse:
    """One line, like every other error: where (`zones[0].polygon`, `query.limit`) and what."""
    assert isinstance(err, RequestValidationError)
    first = err.errors()[0]
    return JSONResponse({"detail": describe_error(first)}, status_code=422)


def describe_error(error: dict) -> str:
    loc = [part for part in error.get("loc", ()) if not _is_union_tag(part)]
    if error.get("type") == "json_invalid":
        return f"the body is not JSON: {error.get('ctx', {}).get('error', 'cannot be parsed')}"
    if loc and loc[0] == "body":
        loc = loc[1:]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return one_line(f"{where or 'body'}: {message}")
