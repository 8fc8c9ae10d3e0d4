"""The routes, one router per area (the live stream before /api/events/{event_id}, which would take `live` for an
id)."""

from maskwatch.web.routes import auth, cameras, cases, compliance, events, live, system, zones

ROUTERS = [
    system.router,
    auth.router,
    cameras.router,
    zones.router,
    live.router,
    events.router,
    compliance.router,
    cases.status_router,
    cases.router,
    cases.pages,
]
