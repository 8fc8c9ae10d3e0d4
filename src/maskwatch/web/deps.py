"""What the routes depend on (FastAPI `Depends`): the service, the caller's role, a camera by name; and the error
answers each kind of route documents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyCookie, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from maskwatch.config import AppConfig, CameraConfig
from maskwatch.events.times import TimeLike
from maskwatch.web.auth import COOKIE
from maskwatch.web.defs.common import CameraName, Role
from maskwatch.web.defs.responses import Problem


class WebService(Protocol):
    """What the web layer uses of `maskwatch.service.Service`."""

    config: AppConfig
    metrics_registry: Any

    @property
    def running(self) -> bool: ...

    def health(self) -> dict: ...
    def camera_status(self) -> list[dict]: ...
    def latest_jpeg(self, camera: str, annotated: bool = True) -> bytes | None: ...
    def events(
        self,
        camera: str | None = None,
        label: str | None = None,
        zone: str | None = None,
        since: TimeLike = None,
        limit: int = 100,
        offset: int = 0,
        review: str | None = None,
    ) -> list[dict]: ...
    def event(self, event_id: int) -> dict | None: ...
    def review_event(self, event_id: int, review: str | None) -> dict | None: ...
    def snapshot_path(self, event_id: int) -> Path | None: ...
    def clip_path(self, event_id: int) -> Path | None: ...
    def compliance(
        self,
        since: TimeLike = None,
        until: TimeLike = None,
        camera: str | None = None,
        bucket: str = "day",
        days: int | None = None,
    ) -> list[dict]: ...
    def reviews(self, days: int | None = None) -> list[dict]: ...
    def stats(self) -> dict: ...
    def set_zones(self, camera: str, zones: list[dict]) -> None: ...
    def add_event_listener(self, fn: Callable[[dict], None]) -> None: ...


def get_service(request: Request) -> WebService:
    return request.app.state.service


ServiceDep = Annotated[WebService, Depends(get_service)]

# Declared for the OpenAPI document (and Swagger UI's Authorize button); the check itself is TokenAuth's, for every
# route, static files included.
BEARER = HTTPBearer(auto_error=False, description="the access token (ui.token) or the viewer token")
SESSION = APIKeyCookie(name=COOKIE, auto_error=False, description="the session opened by /login")
QUERY_TOKEN = APIKeyQuery(name="token", auto_error=False, description="the token in the address (links, <img>)")


def current_role(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    _session: Annotated[str | None, Security(SESSION)],
    _query: Annotated[str | None, Security(QUERY_TOKEN)],
) -> Role:
    """The caller's role, as TokenAuth found it (it let nobody else this far)."""
    return request.state.role


def require_admin(role: Annotated[Role, Depends(current_role)]) -> None:
    if role != "admin":
        raise HTTPException(403, "read-only access: the viewer token cannot change anything")


def camera_config(name: CameraName, service: ServiceDep) -> CameraConfig:
    for cam in service.config.cameras:
        if cam.name == name:
            return cam
    raise HTTPException(404, f"no camera named {name!r}")


CameraDep = Annotated[CameraConfig, Depends(camera_config)]


def shutting_down(request: Request) -> bool:
    """The app is shutting down, or `serve` is stopping the service: endless streams end."""
    service_closing = getattr(request.app.state.service, "closing", None)
    return request.app.state.closing.is_set() or (service_closing is not None and service_closing.is_set())


ERRORS = {
    400: "the body is not what this route takes",
    401: "missing or wrong access token",
    403: "read-only access: the viewer token cannot change anything",
    404: "no such camera, event or file",
    413: "the request body is too large",
    422: "a parameter or the body is invalid",
    429: "too many wrong access tokens from this address",
    503: "the service is not running (or: no frame yet)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error codes, each answered as {"detail": "..."}."""
    return {code: {"model": Problem, "description": ERRORS[code]} for code in codes}


READ = errors(401, 413, 422, 429, 503)  # every protected route
WRITE = errors(400, 403)
