"""The service: health, figures, Prometheus metrics; the page and the API's documentation."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from maskwatch.web.defs.common import Tag
from maskwatch.web.defs.responses import Health, Stats
from maskwatch.web.deps import READ, ServiceDep, current_role, errors

STATIC = Path(__file__).parent.parent / "static"
DOCS_ASSETS = importlib.resources.files("fastapi_offline") / "static"  # Swagger UI 5, which reads OpenAPI 3.1
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(tags=[Tag.service])


@router.get(
    "/healthz",
    response_model_exclude_unset=True,
    responses={503: {"model": Health, "description": "analysis stalled or service stopped"}, **errors(413)},
)
def healthz(service: ServiceDep, response: Response) -> Health:
    """For load balancers and container health checks (no token needed): 200 while the analysis loop goes round,
    else 503."""
    health = Health(**service.health())
    response.status_code = 200 if health.status == "ok" else 503
    return health


@router.get("/api/stats", dependencies=[Depends(current_role)], responses=READ, response_model_exclude_unset=True)
def stats(service: ServiceDep) -> Stats:
    """Uptime, events by label, camera and review, per-camera state, sinks, storage and clips."""
    return Stats(**service.stats())


@router.get(
    "/metrics",
    dependencies=[Depends(current_role)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}, **READ},
)
def metrics(service: ServiceDep) -> Response:
    """Prometheus text format."""
    return Response(generate_latest(service.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=NO_STORE)


@router.get("/docs", include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title="maskwatch API",
        swagger_favicon_url="/docs-assets/favicon.png",
        swagger_js_url="/docs-assets/swagger-ui-bundle.js",
        swagger_css_url="/docs-assets/swagger-ui.css",
    )
