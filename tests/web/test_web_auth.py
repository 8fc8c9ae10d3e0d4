"""Access to a real running Service's web app (a clip from CC0 photos as a camera): the admin and viewer tokens,
401s on every protected route, the login form and session cookie, security headers, the refusal after wrong tokens,
and the health check."""

from __future__ import annotations

import secrets
import threading

import pytest
from fastapi.testclient import TestClient

from helpers_service.live_web import BEARER, TOKEN, VIEWER
from helpers_service.servers import wait_for
from maskwatch.web import create_app
from maskwatch.web.auth import COOKIE

PROTECTED_GETS = [
    "/api/cameras",
    "/api/cameras/door-cam/zones",
    "/api/events",
    "/api/events.csv",
    "/api/events/1",
    "/api/events/1/snapshot",
    "/api/events/1/clip",
    "/api/stats",
    "/api/cameras/door-cam/frame.jpg",
    "/api/cameras/door-cam/stream",
    "/api/events/live",
    "/metrics",
    "/openapi.json",
    "/static/app.js",
    "/static/index.html",
    "/api/me",
    "/api/compliance",
    "/api/compliance.csv",
]


def test_healthz_is_open(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["analysis_seconds_ago"] < 30


def test_healthz_answers_503_when_the_analysis_stalls(client, running):
    service = running["service"]
    dead = threading.Thread(target=lambda: None)  # as if the analysis loop had died
    dead.start()
    dead.join()
    service.local.loops, loops = [dead], service.local.loops
    try:
        r = client.get("/healthz")
    finally:
        service.local.loops = loops
    assert r.status_code == 503 and r.json()["status"] == "stalled"
    assert client.get("/healthz").status_code == 200


def test_the_viewer_token_reads_and_changes_nothing(client, running):
    assert client.get("/api/me", headers=BEARER).json() == {"role": "admin"}
    assert client.get("/api/me", headers=VIEWER).json() == {"role": "viewer"}
    for path in ("/api/cameras", "/api/events", "/api/compliance", "/api/stats", "/metrics", "/api/events.csv"):
        assert client.get(path, headers=VIEWER).status_code == 200, path
    zones = client.get("/api/cameras/door-cam/zones", headers=VIEWER).json()
    refused = client.put("/api/cameras/door-cam/zones", json={"zones": []}, headers=VIEWER)
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    assert client.get("/api/cameras/door-cam/zones", headers=BEARER).json() == zones
    event = wait_for(lambda: client.get("/api/events", headers=VIEWER).json(), 30)[0]
    assert (
        client.put(f"/api/events/{event['id']}/review", json={"review": "confirmed"}, headers=VIEWER).status_code == 403
    )
    assert client.get(f"/api/events/{event['id']}", headers=BEARER).json()["review"] is None
    # signed in through the login form with the viewer token: the cookie reads, and still changes nothing
    login = client.post("/login", data={"token": VIEWER["Authorization"][7:], "next": "/"}, follow_redirects=False)
    assert login.status_code == 303
    assert client.get("/api/me").json() == {"role": "viewer"}
    assert client.put("/api/cameras/door-cam/zones", json={"zones": []}).status_code == 403
    assert client.post("/logout", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", PROTECTED_GETS)
@pytest.mark.parametrize("how", ["none", "bearer", "cookie", "query"])
def test_wrong_or_missing_token_gets_401_and_no_data(client, path, how):
    wrong = TOKEN + "x"
    headers, params = {}, {}
    if how == "bearer":
        headers["Authorization"] = f"Bearer {wrong}"
    elif how == "cookie":
        headers["Cookie"] = f"{COOKIE}={secrets.token_urlsafe(32)}"  # a session this server never opened
    elif how == "query":
        params["token"] = wrong
    r = client.get(path, headers=headers, params=params)
    assert r.status_code == 401, r.text[:200]
    assert r.json() == {"detail": "missing or wrong access token"}
    assert r.headers["www-authenticate"] == "Bearer"


def test_put_zones_needs_token(client, running):
    before = running["service"].config.camera("door-cam").zones
    r = client.put("/api/cameras/door-cam/zones", json={"zones": []}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert running["service"].config.camera("door-cam").zones == before


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_html_pages_redirect_to_login(client, path):
    r = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2F{path[1:]}"
    r = client.get(path, params={"token": "wrong"}, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?") and "error=1" in r.headers["location"]
    login = client.get(r.headers["location"])
    assert login.status_code == 200 and "Wrong access token." in login.text and 'name="token"' in login.text


def test_query_token_sets_httponly_cookie_and_leaves_the_address(client):
    r = client.get("/", params={"token": TOKEN, "view": "zones"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?view=zones"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    page = client.get("/")  # the cookie alone now opens the page and the API
    assert page.status_code == 200 and '<div id="camera-grid"' in page.text
    assert client.get("/api/stats").status_code == 200
    assert client.get("/docs").status_code == 200 and client.get("/openapi.json").json()["info"]["title"] == "maskwatch"


def session_of(client: TestClient, token: str = TOKEN) -> str:
    """Signs in through the login form; the session id its cookie holds (the client forgets the cookie)."""
    login = client.post("/login", data={"token": token, "next": "/"}, follow_redirects=False)
    assert login.status_code == 303
    client.cookies.clear()
    return login.headers["set-cookie"].split(";")[0].split("=", 1)[1]


def test_cookie_among_other_apps_cookies_and_security_headers(client):
    # localhost shares cookies across ports: other apps' odd cookies must not hide ours
    headers = {"Cookie": f'other={{"json": 1}}; a b=c; {COOKIE}={session_of(client)}; z=1'}
    r = client.get("/api/stats", headers=headers)
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    page = client.get("/", headers=headers)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/healthz").headers["referrer-policy"] == "no-referrer"


def test_an_address_sending_wrong_tokens_is_refused_for_a_minute(running):
    service = running["service"]
    service.config.ui.wrong_tokens_per_minute = 3
    try:
        app = create_app(service)
    finally:
        service.config.ui.wrong_tokens_per_minute = 0
    now = [1000.0]
    app.state.wrong_tokens.clock = lambda: now[0]
    client = TestClient(app)
    assert client.get("/api/stats").status_code == 401  # no token at all: not a guess
    assert client.get("/api/stats", headers={"Authorization": "Bearer guess-1"}).status_code == 401
    assert client.get("/api/stats", params={"token": "guess-2"}).status_code == 401
    login = client.post("/login", data={"token": "guess-3", "next": "/"})
    assert login.status_code == 401
    refused = client.get("/api/stats", headers=BEARER)  # the right token too: else guessing would go on
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60" and "try again in 60 s" in refused.text
    now[0] += 30
    login = client.post("/login", data={"token": TOKEN, "next": "/"}, follow_redirects=False)
    assert login.status_code == 429 and "Too many wrong tokens from this address: try again in 30 s." in login.text
    assert client.get("/healthz").status_code == 200  # open routes stay open
    now[0] += 30.5  # a minute after the first guess
    assert client.get("/api/stats", headers=BEARER).status_code == 200
    assert (
        client.get("/api/stats", headers={"Authorization": "Bearer guess-4"}).status_code == 401
    )  # 2 in the last minute
    assert client.get("/api/stats", headers=BEARER).status_code == 200
    # a session cookie this server never handed out is a guess like a wrong token (sessions after a token change:
    # tests/web/test_web_sessions.py)
    unknown = {"Cookie": f"{COOKIE}={secrets.token_urlsafe(32)}"}
    assert client.get("/api/stats", headers=unknown).status_code == 401
    assert client.get("/api/stats", headers=unknown).status_code == 401
    assert client.get("/api/stats", headers=BEARER).status_code == 429


def test_login_form(client):
    r = client.post("/login", data={"token": "wrong", "next": "/"}, follow_redirects=False)
    assert r.status_code == 401 and "Wrong access token." in r.text and "set-cookie" not in r.headers
    r = client.post("/login", data={"token": TOKEN, "next": "//evil.example/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # never off-site
    assert "HttpOnly" in r.headers["set-cookie"]
    assert client.get("/api/cameras").status_code == 200
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/api/cameras").status_code == 401
