"""The HTTP side of issue 18's probe, kept fixed: forwarded addresses only from trusted proxies (finding 2), body
limits answered before the body is read (finding 3), and the low ones: integers beyond SQLite's, deep JSON, the live
stream's `after`, the token redirect, huge zone lists. And: every route that changes something needs the admin."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from helpers_service.servers import free_port, wait_for
from helpers_service.web import BEARER, TOKEN, VIEWER_TOKEN, started_service, write_config
from maskwatch.web import create_app

BIG = 2**63  # one past SQLite's largest integer


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    service = started_service(tmp_path_factory.mktemp("web_security"))
    yield service
    service.stop()


@pytest.fixture
def client(service):
    return TestClient(create_app(service))


def guess_from(client: TestClient, forwarded_for: str):
    return client.get("/api/me", headers={"Authorization": "Bearer wrong-guess", "X-Forwarded-For": forwarded_for})


# --- forwarded addresses -------------------------------------------------------------------------------------------


def test_forwarded_for_is_believed_only_from_trusted_proxies(service, caplog):
    loopback = TestClient(create_app(service), client=("127.0.0.1", 40000))
    for i in range(10):  # a new address in every request: it is still the one connection's address that guesses
        assert guess_from(loopback, f"203.0.113.{i}").status_code == 401
    assert loopback.get("/api/me", headers=BEARER).status_code == 429
    service.config.ui.trusted_proxies = ["127.0.0.1"]
    try:
        proxied = TestClient(create_app(service), client=("127.0.0.1", 40000))
    finally:
        service.config.ui.trusted_proxies = []
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="maskwatch.web.auth")
    for _ in range(10):  # behind the proxy: one client guessing locks out that client only
        assert guess_from(proxied, "198.51.100.7").status_code == 401
    assert proxied.get("/api/me", headers={**BEARER, "X-Forwarded-For": "198.51.100.7"}).status_code == 429
    assert proxied.get("/api/me", headers={**BEARER, "X-Forwarded-For": "198.51.100.8"}).status_code == 200
    assert "wrong access tokens from 198.51.100.7" in caplog.text and "from 127.0.0.1" not in caplog.text


def test_serve_does_not_let_uvicorn_believe_loopback(service):
    """`serve` starts uvicorn, which by default believes X-Forwarded-For from 127.0.0.1."""
    from maskwatch.service.cli import _web_server

    port = free_port()
    server, thread = _web_server(service, "127.0.0.1", port, None, None)
    try:
        assert wait_for(lambda: server.started, 10), "uvicorn did not start"
        import httpx

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for i in range(10):
                headers = {"Authorization": "Bearer wrong-guess", "X-Forwarded-For": f"203.0.113.{i}"}
                assert http.get("/api/me", headers=headers).status_code == 401
            assert http.get("/api/me", headers=BEARER).status_code == 429
        status, seconds = _post_huge_login(port)
        assert status == 413 and seconds < 5
    finally:
        server.should_exit = True
        thread.join(10)


def _post_huge_login(port: int) -> tuple[int, float]:
    """Announces 1.5 GB, sends 64 kB: the answer comes at once, without the rest."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        head = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        conn.sendall(f"{head}Content-Length: 1500000000\r\n\r\n".encode() + b"token=" + b"a" * 65536)
        status = int(conn.recv(4096).split(b" ", 2)[1])
    return status, time.monotonic() - started


# --- body limits ---------------------------------------------------------------------------------------------------


def _asgi_post(app, path: str, content_length: int | None, chunks: int) -> tuple[int, int]:
    """POSTs straight into the ASGI app: (status, body chunks it read). Chunks of 64 kB, `chunks` of them."""
    read, sent = 0, []
    headers = [(b"content-type", b"application/x-www-form-urlencoded"), (b"host", b"x")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))

    async def receive():
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"a" * 65536, "more_body": read < chunks}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
    }
    asyncio.run(app(scope, receive, send))
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), read


def test_an_announced_large_body_is_refused_before_it_is_read(client):
    status, read = _asgi_post(client.app, "/login", content_length=1_500_000_000, chunks=1)
    assert status == 413 and read == 0


def test_a_streamed_body_is_refused_once_it_passes_the_limit(client):
    status, read = _asgi_post(client.app, "/login", content_length=None, chunks=200)  # 12.8 MB, no length given
    assert status == 413 and read == 1  # the first 64 kB are over the login's few kB


def test_each_route_has_its_limit(client):
    over = client.post("/login", content=b"token=" + b"a" * 8000, headers={"Content-Type": "text/plain"})
    assert over.status_code == 413 and "too large" in over.json()["detail"]
    big_zones = {"zones": [{"name": f"z{i}", "polygon": [[0.123456789, 0.123456789]] * 60} for i in range(600)]}
    r = client.put("/api/cameras/door-cam/zones", json=big_zones, headers=BEARER)
    assert r.status_code == 413
    assert (
        client.put("/api/events/1/review", json={"review": "confirmed", "x": "a" * 8000}, headers=BEARER).status_code
        == 413
    )
    assert client.put("/api/cameras/door-cam/zones", content=b"x" * 2_000_000).status_code == 413  # before the token


# --- the low ones --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/events/{}", "/api/events/{}/snapshot", "/api/events/{}/clip", "/api/events?offset={}"]
)
def test_integers_beyond_sqlite_are_refused(client, path):
    assert client.get(path.format(BIG), headers=BEARER).status_code == 422
    assert client.get(path.format(10**400), headers=BEARER).status_code == 422
    assert client.get(path.format(BIG - 1), headers=BEARER).status_code in (200, 404)  # the largest is still asked


def test_a_review_of_an_id_beyond_sqlite_is_refused(client):
    r = client.put(f"/api/events/{BIG}/review", json={"review": "confirmed"}, headers=BEARER)
    assert r.status_code == 422 and "event_id" in r.json()["detail"]
    assert client.put(f"/api/events/{BIG - 1}/review", json={"review": None}, headers=BEARER).status_code == 404


@pytest.mark.parametrize("path", ["/api/cameras/door-cam/zones", "/api/events/1/review"])
def test_deeply_nested_json_is_refused(client, path):
    deep = b"[" * 100_000 + b"]" * 100_000
    r = client.put(path, content=deep, headers={**BEARER, "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize("after", ["²", "9" * 5000, "-1", "12abc", str(BIG)])
def test_the_live_stream_refuses_a_bad_after(client, after):
    for params, headers in (({"after": after}, BEARER), ({}, {**BEARER, "Last-Event-ID": after.encode()})):
        with client.stream("GET", "/api/events/live", params=params, headers=headers) as r:  # not read: may not end
            assert r.status_code == 422


def test_the_live_stream_resumes_after_a_good_after(client, service):
    with client.stream("GET", "/api/events/live", params={"after": 1}, headers=BEARER) as r:
        ids = []
        for line in r.iter_lines():
            if line.startswith("id: "):
                ids.append(int(line[4:]))
            if len(ids) == 2:
                break
    assert ids == [2, 3]


@pytest.mark.parametrize("path", ["//evil.example/x", "/\\evil.example/x", "///evil.example", "/%2F%2Fevil.example"])
def test_the_token_redirect_stays_on_this_site(client, path):
    r = client.get(f"http://testserver{path}?token={TOKEN}&view=zones", follow_redirects=False)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")) and "evil.example" in location
    assert TOKEN not in location and location.endswith("?view=zones")


@pytest.mark.parametrize("next_path", ["//evil.example", "/\t/evil.example", "https://evil.example", "/\\evil"])
def test_the_login_goes_back_only_to_this_site(client, next_path):
    r = client.post("/login", data={"token": TOKEN, "next": next_path}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_huge_zone_lists_are_refused_and_nothing_is_saved(client, service):
    before = service.config.camera("door-cam").zones
    saved = service.config_path.read_text()
    url = "/api/cameras/door-cam/zones"

    def put_compact(points: int, zones: int = 1):
        polygon = b"[" + b",".join([b"[0,0]"] * points) + b"]"
        zone_list = b",".join(b'{"name":"z%d","polygon":%s}' % (i, polygon) for i in range(zones))
        body = b'{"zones":[' + zone_list + b"]}"
        return client.put(url, content=body, headers={**BEARER, "Content-Type": "application/json"})

    assert put_compact(100_000).status_code == 413  # 600 kB: over the zones' 512 kB
    r = put_compact(65)
    assert r.status_code == 422 and "zones[0].polygon: List should have at most 64 items" in r.json()["detail"]
    r = put_compact(3, zones=5000)  # 240 kB
    assert r.status_code == 422 and "zones: List should have at most 50 items" in r.json()["detail"]
    wide = {"zones": [{"name": "a", "polygon": [[0.123, 0.456]] * 100_000}]}  # 1.4 MB
    assert client.put(url, json=wide, headers=BEARER).status_code == 413
    assert service.config.camera("door-cam").zones == before and service.config_path.read_text() == saved
    corners = [[0.1234567890123456, 0.6543210987654321]] * 64
    fine = {"zones": [{"name": f"z{i}", "polygon": corners, "hours": ["mon 08:00-09:00"] * 28} for i in range(50)]}
    assert client.put(url, json=fine, headers=BEARER).status_code == 200  # a list at every cap fits the body limit
    alone = client.put(url, json=fine["zones"][:2], headers=BEARER)  # the list alone is taken too
    assert alone.status_code == 200 and [z["name"] for z in alone.json()["zones"]] == ["z0", "z1"]
    assert client.put(url, json={"zones": []}, headers=BEARER).json() == {"camera": "door-cam", "zones": []}


def test_every_route_that_changes_something_needs_the_admin(client):
    from maskwatch.web.deps import require_admin
    from maskwatch.web.routes import ROUTERS

    viewer = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
    operations = client.get("/openapi.json", headers=BEARER).json()["paths"]
    writes = {(path, method.upper()) for path, ops in operations.items() for method in ops if method != "get"}
    assert writes == {
        ("/api/cameras/{name}/zones", "PUT"),
        ("/api/events/{event_id}/review", "PUT"),
        ("/api/cases/{case_id}/label", "PUT"),
    }
    declared = {
        (route.path, method)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
        if any(d.call is require_admin for d in route.dependant.dependencies)
    }
    assert writes <= declared
    for path, method in writes:
        url = path.format(name="door-cam", event_id=1, case_id=1)
        r = client.request(method, url, json={"zones": [], "review": None}, headers=viewer)
        assert r.status_code == 403 and "read-only" in r.json()["detail"]


def test_trusted_proxies_must_be_addresses(tmp_path):
    from maskwatch.config import load_config
    from maskwatch.core.errors import UserError

    path = write_config(tmp_path, trusted_proxies=["10.0.0.0/8", "::1", "127.0.0.1"])
    assert load_config(path).ui.trusted_proxies == ["10.0.0.0/8", "::1", "127.0.0.1"]
    with pytest.raises(UserError, match=r"'proxy\.example' is not an IP address or network"):
        load_config(write_config(tmp_path, trusted_proxies=["proxy.example"]))
