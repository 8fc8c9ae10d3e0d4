"""Who gets in, in real headless Chromium (Playwright, Debian's /usr/bin/chromium) over uvicorn and a real Service:
a wrong token, the viewer token, a phone's screen, the API docs with nothing else reachable; and the MJPEG and SSE
streams over HTTP. The camera plays a clip of unmasked faces (CC0 photos) with its left half a restricted zone, so
alerts come within seconds."""

from __future__ import annotations

import time
from contextlib import contextmanager

import cv2
import numpy as np
import pytest
from playwright import sync_api

from helpers_service.servers import wait_for
from helpers_service.web_ui import served

TOKEN = "ui-access-token-2b8e"
VIEWER_TOKEN = "ui-viewer-token-03b2"
ZONES = [
    {"name": "door", "polygon": [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]], "restricted": True},
    {"name": "hall", "polygon": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]], "restricted": False},
]


@pytest.fixture(scope="module")
def live(tmp_path_factory, pipeline, test_clip):
    config = {
        "cameras": [{"name": "door-cam", "source": str(test_clip), "fps": 5, "zones": ZONES}],
        "detector": {"input_size": 640, "threads": 1},
        "rules": {"min_seconds": 0.5, "cooldown_seconds": 3.0},
        "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
        "ui": {"token": TOKEN, "viewer_token": VIEWER_TOKEN},
    }
    with served(tmp_path_factory.mktemp("web_ui_access"), pipeline, config, TOKEN) as running:
        yield running


def test_wrong_token_is_rejected(browser, live):
    context = browser.new_context()
    try:
        pg = context.new_page()
        pg.goto(f"{live['base']}/?token=wrong-{TOKEN}", wait_until="domcontentloaded")
        assert pg.url.startswith(f"{live['base']}/login?")
        sync_api.expect(pg.locator("#login-error")).to_have_text("Wrong access token.")
        assert pg.locator("#camera-grid").count() == 0
        for path in ("/api/cameras", "/api/events", "/api/cameras/door-cam/frame.jpg"):
            r = pg.request.get(live["base"] + path, headers={"Authorization": "Bearer wrong"})
            assert r.status == 401 and r.json() == {"detail": "missing or wrong access token"}
        # the login form with the right token opens the page
        pg.fill("#token", TOKEN)
        pg.click("button[type=submit]")
        pg.wait_for_url(f"{live['base']}/")
        sync_api.expect(pg.locator('.camera[data-camera="door-cam"]')).to_be_visible()
    finally:
        context.close()


@contextmanager
def _signed_in(browser, live, token: str, width: int = 1440, height: int = 1000):
    """A page of its own, signed in with `token`, showing the camera."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        pg = context.new_page()
        pg.goto(f"{live['base']}/?token={token}", wait_until="domcontentloaded")
        sync_api.expect(pg.locator('.camera[data-camera="door-cam"]')).to_be_visible()
        yield pg
    finally:
        context.close()


def test_fits_a_phone_screen(browser, live):
    with _signed_in(browser, live, TOKEN, width=390, height=844) as pg:
        pg.wait_for_function("() => document.querySelector('#compliance-rows tr') !== null")
        assert pg.evaluate("document.documentElement.scrollWidth") == 390  # nothing sticks out sideways
        sync_api.expect(pg.locator("form[action='/logout'] button")).to_be_in_viewport()


def test_api_docs_render_with_nothing_but_the_service_reachable(browser, live):
    context = browser.new_context()
    outside = []

    def only_the_service(route):
        if route.request.url.startswith(live["base"]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    try:
        pg = context.new_page()
        pg.route("**/*", only_the_service)
        pg.goto(f"{live['base']}/docs?token={TOKEN}", wait_until="domcontentloaded")
        sync_api.expect(pg.locator(".swagger-ui .info .title")).to_contain_text("maskwatch")
        sync_api.expect(pg.locator(".opblock-summary-path", has_text="/api/cameras").first).to_be_visible()
        assert outside == []
    finally:
        context.close()


def test_the_viewer_token_sees_everything_but_the_controls(browser, live):
    with _signed_in(browser, live, VIEWER_TOKEN) as pg:
        sync_api.expect(pg.locator(".chip.viewer-only")).to_be_visible()
        sync_api.expect(pg.locator("#compliance")).to_be_visible()
        for hidden in ("#zones", 'a[href="#zones"]', '.camera[data-camera="door-cam"] button.admin-only'):
            sync_api.expect(pg.locator(hidden)).to_be_hidden()
        item = pg.locator("#event-list li.event img.thumb").first
        sync_api.expect(item).to_be_visible(timeout=30000)
        item.click()
        sync_api.expect(pg.locator("#snapshot-dialog")).to_be_visible()
        sync_api.expect(pg.locator(".review-buttons")).to_be_hidden()
        refused = pg.request.put(f"{live['base']}/api/cameras/door-cam/zones", data={"zones": []})  # the page's cookie
        assert refused.status == 403


def test_streams_over_http(live):
    """MJPEG parts are whole JPEGs; the SSE feed replays stored events after ?after= and then goes on live."""
    with live["api"].stream("GET", "/api/cameras/door-cam/stream", params={"fps": 10}) as r:
        assert r.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
        buffer, started = b"", time.monotonic()
        for chunk in r.iter_bytes():
            buffer += chunk
            if buffer.count(b"\r\n--frame\r\n") >= 2 or time.monotonic() - started > 10:
                break
    parts = [p for p in buffer.split(b"--frame\r\n") if p]
    assert len(parts) >= 2
    for part in parts[:2]:
        head, _, body = part.partition(b"\r\n\r\n")
        assert b"Content-Type: image/jpeg" in head
        body = body.removesuffix(b"\r\n")
        assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) == len(body)
        assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR).shape == (360, 640, 3)

    stored = wait_for(lambda: live["service"].events(limit=5), 30)
    assert stored, "no alert within 30 s"
    after = stored[-1]["id"] - 1
    with live["api"].stream("GET", "/api/events/live", params={"after": after}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        ids = []
        for line in r.iter_lines():
            if line.startswith("id: "):
                ids.append(int(line[4:]))
            if len(ids) >= len(stored):
                break
    assert ids == sorted(e["id"] for e in stored)
