"""The page in real headless Chromium (Playwright, Debian's /usr/bin/chromium) over uvicorn and a real Service.

The camera plays a clip of unmasked faces (CC0 photos). It starts with one unrestricted zone on the right half only,
so no alert fires until a test makes the left half a restricted zone: the alert then arrives while the page is open.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import httpx
import numpy as np
import pytest
from playwright import sync_api

from helpers_service.servers import wait_for
from helpers_service.web_ui import served
from maskwatch.core.paths import REPO_ROOT

TOKEN = "ui-test-token-7d1e"
HALL = [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]
DOOR = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def live(tmp_path_factory, pipeline, test_clip):
    config = {
        "cameras": [
            {
                "name": "door-cam",
                "source": str(test_clip),
                "fps": 5,
                "zones": [{"name": "hall", "polygon": HALL, "restricted": False}],
            }
        ],
        "detector": {"input_size": 640, "threads": 1},
        "rules": {"min_seconds": 0.5, "cooldown_seconds": 3.0, "timezone": "Europe/Berlin"},
        "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
        "clips": {"enabled": True},
        "ui": {"token": TOKEN},
    }
    with served(tmp_path_factory.mktemp("web_ui"), pipeline, config, TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def page(browser, live):
    """One signed-in page kept open through the tests (as a screen on a wall would be)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(20000)
    pg.problems = []  # script errors and Content-Security-Policy refusals, checked at the end
    pg.on("pageerror", lambda err: pg.problems.append(f"script error: {err}"))
    pg.on("console", lambda msg: "Content Security Policy" in msg.text and pg.problems.append(msg.text))
    pg.goto(f"{live['base']}/?token={TOKEN}", wait_until="domcontentloaded")
    yield pg
    context.close()


def test_page_loads_with_token_and_shows_live_frame(page, live):
    assert page.url == f"{live['base']}/", "the token should leave the address bar"
    page.wait_for_function(
        "() => { const i = document.querySelector('img.live[data-camera=\"door-cam\"]');"
        " return i && i.naturalWidth > 0; }"
    )
    size = page.evaluate(
        "() => { const i = document.querySelector('img.live'); return [i.naturalWidth, i.naturalHeight]; }"
    )
    assert size == [640, 360]
    card = page.locator('.camera[data-camera="door-cam"]')
    sync_api.expect(card.locator(".badge")).to_have_text("online")
    sync_api.expect(card.locator(".fps")).to_contain_text("fps analysed")
    page.wait_for_function("() => Number(document.querySelector('.camera .faces dd').textContent) > 0")
    sync_api.expect(page.locator("#sum-cameras")).to_have_text("1/1 cameras online")
    sync_api.expect(page.locator("#live-state")).to_have_text("live")
    cookies = page.context.cookies()
    assert [(c["name"], c["httpOnly"]) for c in cookies] == [("maskwatch_session", True)]
    assert TOKEN not in cookies[0]["value"]


def test_new_event_appears_with_banner(page, live):
    assert live["service"].events() == [], "no alert should fire before the left half is restricted"
    sync_api.expect(page.locator("#events-empty")).to_be_visible()
    assert page.locator("#alert-banner").is_hidden()
    r = live["api"].put(
        "/api/cameras/door-cam/zones",
        json={
            "zones": [
                {"name": "door", "polygon": DOOR, "restricted": True},
                {"name": "hall", "polygon": HALL, "restricted": False},
            ]
        },
    )
    assert r.status_code == 200
    banner = page.locator("#alert-banner")
    sync_api.expect(banner).to_be_visible(timeout=30000)
    sync_api.expect(banner).to_contain_text("No mask — camera door-cam, zone door")
    item = page.locator("#event-list li.event").first
    sync_api.expect(item).to_have_attribute("data-label", "no_mask")
    event_id = int(item.get_attribute("data-id"))
    stored = live["api"].get(f"/api/events/{event_id}").json()
    assert stored["zone"] == "door" and stored["label"] == "no_mask"
    sync_api.expect(item).to_contain_text("door-cam / door")
    page.wait_for_function(
        "() => { const t = document.querySelector('#event-list li.event img.thumb');"
        " return t && t.complete && t.naturalWidth > 0; }"
    )
    # the filters ask the API again; no match is said so
    page.select_option("#filter-review", "confirmed")
    sync_api.expect(page.locator("#event-list li.event")).to_have_count(0)
    sync_api.expect(page.locator("#events-empty")).to_have_text("No events match these filters.")
    page.select_option("#filter-review", "")
    page.select_option("#filter-label", "no_mask")
    sync_api.expect(page.locator("#event-list li.event").first).to_be_visible()
    # the CSV link follows the filters and downloads with the page's session, no token in the address
    sync_api.expect(page.locator("#events-csv")).to_have_attribute("href", "/api/events.csv?label=no_mask")
    with page.expect_download() as download:
        page.click("#events-csv")
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0].startswith("id,time,camera,zone") and len(rows) >= 2 and ",door," in rows[1]
    page.select_option("#filter-label", "")


def test_an_alert_reviewed_from_its_snapshot_is_marked_filtered_and_taken_back(page, live):
    event_id = int(page.locator("#event-list li.event").first.get_attribute("data-id"))
    item = page.locator(f'#event-list li.event[data-id="{event_id}"]')
    item.locator("img.thumb").click()
    sync_api.expect(page.locator("#snapshot-dialog")).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#snapshot-image'); return i.complete && i.naturalWidth > 0; }"
    )
    page.click("#review-false_alarm")
    sync_api.expect(item).to_have_attribute("data-review", "false_alarm")
    sync_api.expect(item.locator(".review")).to_have_text("false alarm")
    sync_api.expect(page.locator("#review-false_alarm")).to_have_attribute("aria-pressed", "true")
    assert live["api"].get(f"/api/events/{event_id}").json()["review"] == "false_alarm"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review.png"))  # the snapshot dialog, for a look
    page.click("#snapshot-close")
    page.select_option("#filter-review", "false_alarm")
    sync_api.expect(page.locator("#event-list")).to_have_attribute("aria-busy", "false")
    sync_api.expect(page.locator("#event-list li.event")).to_have_count(1)
    sync_api.expect(page.locator("#event-list li.event").first).to_have_attribute("data-id", str(event_id))
    page.select_option("#filter-review", "unreviewed")
    sync_api.expect(item).to_have_count(0)
    page.select_option("#filter-review", "")
    item.locator("img.thumb").click()
    sync_api.expect(page.locator("#review-false_alarm")).to_have_attribute("aria-pressed", "true")
    page.click("#review-false_alarm")  # pressed again: not reviewed
    sync_api.expect(item).to_have_attribute("data-review", "")
    assert live["api"].get(f"/api/events/{event_id}").json()["review"] is None
    page.click("#snapshot-close")


def test_an_alerts_clip_plays_in_its_dialog(page, live):
    clipped = wait_for(lambda: [e for e in live["api"].get("/api/events").json() if e["clip"]], 30)
    assert clipped, "no alert got a clip within 30 s"
    event_id = clipped[-1]["id"]
    page.reload()  # the list now knows of the clip
    item = page.locator(f'#event-list li.event[data-id="{event_id}"]')
    # the dialog reads the event again; played before that answer comes, the clip must go on playing after it
    slow = lambda route: (time.sleep(1.5), route.continue_())  # noqa: E731
    page.route(f"**/api/events/{event_id}", slow)
    item.locator("img.thumb").click()
    toggle = page.locator("#clip-toggle")
    sync_api.expect(toggle).to_have_text("Play clip")
    toggle.click()
    page.wait_for_timeout(2000)  # the slow answer has come
    page.unroute(f"**/api/events/{event_id}", slow)
    video = page.locator("#clip-video")
    sync_api.expect(video).to_be_visible()
    sync_api.expect(page.locator("#snapshot-image")).to_be_hidden()
    # Chromium decodes it (VP8) and plays it: time moves on
    page.wait_for_function(
        "() => { const v = document.querySelector('#clip-video');"
        " return v.readyState >= 2 && v.videoWidth === 640 && v.currentTime > 0.5; }",
        timeout=15000,
    )
    assert page.evaluate("document.querySelector('#clip-video').duration") >= 4.5
    page.screenshot(path=str(ARTIFACTS / "clip.png"))
    toggle.click()
    sync_api.expect(page.locator("#snapshot-image")).to_be_visible()
    assert page.evaluate("document.querySelector('#clip-video').paused")
    page.click("#snapshot-close")
    assert page.evaluate("!document.querySelector('#clip-video').getAttribute('src')")


def draw(page, points) -> None:
    """Click a polygon's corners (fractions of the frame) on the zone editor's canvas."""
    canvas = page.locator("#zone-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for x, y in points:
        canvas.click(position={"x": x * box["width"], "y": y * box["height"]})


def test_zone_editor_saves_a_polygon(page, live):
    page.select_option("#zone-camera", "door-cam")
    page.wait_for_function(
        "() => { const i = document.querySelector('#zone-frame'); return i.complete && i.naturalWidth > 0; }"
    )
    corners = [(0.55, 0.10), (0.95, 0.10), (0.95, 0.60), (0.55, 0.60)]
    draw(page, corners)
    sync_api.expect(page.locator("#zone-points")).to_have_text("4 points")
    page.fill("#zone-name", "counter")
    page.select_option("#zone-kind", "open")
    page.click("#zone-save")
    sync_api.expect(page.locator("#zone-message")).to_have_text("Zone “counter” saved.")
    zones = live["api"].get("/api/cameras/door-cam/zones").json()
    assert [z["name"] for z in zones] == ["door", "hall", "counter"]
    counter = zones[2]
    assert counter["restricted"] is False
    assert np.allclose(counter["polygon"], corners, atol=0.01), counter["polygon"]
    sync_api.expect(page.locator('#zone-list li[data-zone="counter"]')).to_contain_text("open")
    # a bad polygon (too few points) is refused with the message shown, nothing saved
    draw(page, [(0.01, 0.01)])
    page.fill("#zone-name", "tiny")
    page.click("#zone-save")
    sync_api.expect(page.locator("#zone-message")).to_have_text("Click at least 3 points on the frame.")
    page.click("#zone-clear")
    assert [z["name"] for z in live["api"].get("/api/cameras/door-cam/zones").json()] == ["door", "hall", "counter"]
    # the live view draws the saved zone: its outline appears in the annotated frame where the raw one has none
    assert _zone_outline_visible(live["api"], corners)


def test_zone_hours_kept_through_an_edit_and_typed_hours_checked(page, live):
    zones = live["api"].get("/api/cameras/door-cam/zones").json()
    assert [z["name"] for z in zones] == ["door", "hall", "counter"]  # as the test before left them
    # hours set through the API are listed, and an edit in the editor (deleting another zone) keeps them
    later = (datetime.now(ZoneInfo("Europe/Berlin")).hour + 12) % 24  # the config's rules.timezone
    hours = [f"daily {later:02d}:00-{later:02d}:30"]  # not now: the zone stays quiet
    restricted = [zones[0], {**zones[1], "restricted": True, "hours": hours}, zones[2]]
    assert live["api"].put("/api/cameras/door-cam/zones", json={"zones": restricted}).status_code == 200
    sync_api.expect(page.locator('#zone-list li[data-zone="hall"]')).to_contain_text(f"restricted · {hours[0]}")
    page.once("dialog", lambda d: d.accept())  # deleting asks first
    page.click('#zone-list li[data-zone="counter"] button[aria-label="delete zone counter"]')
    sync_api.expect(page.locator("#zone-message")).to_have_text("Zone “counter” deleted.")
    after = live["api"].get("/api/cameras/door-cam/zones").json()
    assert [(z["name"], z["hours"]) for z in after] == [("door", []), ("hall", hours)]
    # hours typed into the editor: a bad entry is refused with the server's reason, a good one saved
    draw(page, [(0.60, 0.70), (0.90, 0.70), (0.75, 0.95)])
    page.fill("#zone-name", "night")
    page.select_option("#zone-kind", "restricted")
    sync_api.expect(page.locator("#zone-hours")).to_be_enabled()
    page.fill("#zone-hours", "weekends 9-5")
    page.click("#zone-save")
    sync_api.expect(page.locator("#zone-message")).to_contain_text("write DAYS HH:MM-HH:MM")
    page.fill("#zone-hours", f"{hours[0]}; sun 01:00-01:30")
    sync_api.expect(page.locator("#zone-alerts-default")).to_have_text("Default (no mask, worn wrongly)")
    page.select_option("#zone-alerts", "no_mask")  # a mask below the nose is tolerated here
    page.click("#zone-save")
    sync_api.expect(page.locator("#zone-message")).to_have_text("Zone “night” saved.")
    night = live["api"].get("/api/cameras/door-cam/zones").json()[-1]
    assert night["name"] == "night" and night["restricted"] and night["hours"] == [hours[0], "sun 01:00-01:30"]
    assert night["alert_labels"] == ["no_mask"]
    sync_api.expect(page.locator('#zone-list li[data-zone="night"]')).to_contain_text("alerts on no mask")
    sync_api.expect(page.locator("#zone-alerts")).to_have_value("")  # the form is reset for the next zone
    page.click('#zone-list li[data-zone="night"] button[aria-label="edit zone night"]')
    sync_api.expect(page.locator("#zone-alerts")).to_have_value("no_mask")
    page.click("#zone-clear")
    # an existing zone edited without redrawing it: its corners, place and hours come into the form
    sync_api.expect(page.locator("#zone-hours-zone")).to_have_text("Europe/Berlin")
    page.click('#zone-list li[data-zone="hall"] button[aria-label="edit zone hall"]')
    sync_api.expect(page.locator("#zone-points")).to_have_text("4 points")
    sync_api.expect(page.locator("#zone-name")).to_have_value("hall")
    sync_api.expect(page.locator("#zone-hours")).to_have_value(hours[0])
    sync_api.expect(page.locator("#zone-kind")).to_have_value("restricted")
    page.fill("#zone-hours", "sat 02:00-03:00")
    page.click("#zone-save")
    sync_api.expect(page.locator("#zone-message")).to_have_text("Zone “hall” saved.")
    edited = live["api"].get("/api/cameras/door-cam/zones").json()
    assert [z["name"] for z in edited] == ["door", "hall", "night"]  # replaced in its place: the first match wins
    assert edited[1]["polygon"] == zones[1]["polygon"] and edited[1]["hours"] == ["sat 02:00-03:00"]
    assert live["api"].put("/api/cameras/door-cam/zones", json={"zones": zones}).status_code == 200  # back


def test_an_ignored_zone_has_no_hours_or_alert_labels(page, live):
    zones = live["api"].get("/api/cameras/door-cam/zones").json()
    # a poster on the wall: an ignored zone, whose faces are left out (no hours or alert labels to set)
    draw(page, [(0.02, 0.02), (0.12, 0.02), (0.12, 0.12), (0.02, 0.12)])
    page.fill("#zone-name", "poster")
    page.select_option("#zone-kind", "ignore")
    sync_api.expect(page.locator("#zone-hours")).to_be_disabled()
    sync_api.expect(page.locator("#zone-alerts")).to_be_disabled()
    page.click("#zone-save")
    sync_api.expect(page.locator("#zone-message")).to_have_text("Zone “poster” saved.")
    poster = live["api"].get("/api/cameras/door-cam/zones").json()[-1]
    assert (poster["name"], poster["ignore"], poster["restricted"], poster["hours"]) == ("poster", True, False, [])
    sync_api.expect(page.locator('#zone-list li[data-zone="poster"]')).to_contain_text("ignored: faces left out")
    page.click('#zone-list li[data-zone="poster"] button[aria-label="edit zone poster"]')
    sync_api.expect(page.locator("#zone-kind")).to_have_value("ignore")
    page.click("#zone-clear")
    # as it was, with counter, for the tests after
    assert live["api"].put("/api/cameras/door-cam/zones", json={"zones": zones}).status_code == 200


def test_compliance_panel_lists_people_per_zone(page, live):
    assert wait_for(lambda: live["api"].get("/api/compliance", params={"days": 1}).json(), 30), "nobody counted"
    page.reload(wait_until="domcontentloaded")
    row = page.locator('#compliance-rows tr[data-camera="door-cam"]').first
    sync_api.expect(row).to_be_visible(timeout=10000)
    zone = row.get_attribute("data-zone")
    today, week = (int(row.locator(f"td.{c}").inner_text()) for c in ("today-people", "week-people"))
    assert 1 <= today <= week
    assert row.locator("td.today-masked").inner_text().endswith(" %")
    api_row = next(
        r
        for r in live["api"].get("/api/compliance", params={"days": 1, "bucket": "all"}).json()
        if (r["zone"] or "") == zone
    )
    assert api_row["people"] >= today  # the API, asked later, may have counted more
    with page.expect_download() as download:  # 30 days by day, with the page's session
        page.click("#compliance-csv")
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0] == "start,camera,zone,people,mask,no_mask,incorrect,masked_share" and ",door-cam," in rows[1]


def _zone_outline_visible(api: httpx.Client, corners, tries: int = 10) -> bool:
    """Mean colour difference along the zone's top edge between the annotated and the raw frame of one frame."""
    for _ in range(tries):
        annotated = api.get("/api/cameras/door-cam/frame.jpg").content
        raw = api.get("/api/cameras/door-cam/frame.jpg", params={"annotated": "false"}).content
        a, b = (cv2.imdecode(np.frombuffer(x, np.uint8), cv2.IMREAD_COLOR).astype(np.int16) for x in (annotated, raw))
        y = round(corners[0][1] * a.shape[0])
        x1, x2 = round((corners[0][0] + 0.05) * a.shape[1]), round((corners[1][0] - 0.05) * a.shape[1])
        edge = np.abs(a[y - 1 : y + 2, x1:x2] - b[y - 1 : y + 2, x1:x2]).mean()
        away = np.abs(a[y - 20 : y - 17, x1:x2] - b[y - 20 : y - 17, x1:x2]).mean()  # above: no face label there
        if edge > 20 and away < 10:
            return True
        time.sleep(0.2)  # the two requests straddled a new frame; try again
    return False


def test_screenshot(page, live):
    wait_for(lambda: len(live["service"].events()) >= 3, 10)  # a few events for a representative list
    page.reload(wait_until="domcontentloaded")
    page.wait_for_function("() => { const i = document.querySelector('img.live'); return i && i.naturalWidth > 0; }")
    page.wait_for_function(
        "() => { const i = document.querySelector('#zone-frame'); return i.complete && i.naturalWidth > 0; }"
    )
    canvas = page.locator("#zone-canvas")
    box = canvas.bounding_box()
    for x, y in [(0.08, 0.55), (0.42, 0.55), (0.42, 0.95)]:  # a polygon being drawn
        canvas.click(position={"x": x * box["width"], "y": y * box["height"]})
    page.fill("#zone-name", "queue")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.locator("#alert-banner").wait_for(state="visible", timeout=30000)  # the next alert of the looping clip
    sync_api.expect(page.locator("#event-list li.event").first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#event-list img.thumb')].slice(0, 4)"
        ".every(t => t.complete && t.naturalWidth > 0)"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / "ui.png"
    page.screenshot(path=str(out), full_page=True)
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] == 1440
    assert page.problems == []


SLOW_CAMERAS = """() => { window.fastApi = api; window.reads = { started: 0, out: 0, most: 0 };
    api = async (path, options) => {
        if (path !== "/api/cameras") return window.fastApi(path, options);
        const reads = window.reads;  // the camera poll's reads, each answered 2.5 s late (a busy server)
        reads.started += 1; reads.out += 1; reads.most = Math.max(reads.most, reads.out);
        try { await new Promise((done) => setTimeout(done, 2500)); return await window.fastApi(path, options); }
        finally { reads.out -= 1; } }; }"""


def test_a_slow_server_is_polled_no_faster_than_it_answers(page):
    page.evaluate(SLOW_CAMERAS)
    try:
        page.wait_for_timeout(6000)  # six ticks of the one-second camera poll
        reads = page.evaluate("() => window.reads")
    finally:
        page.evaluate("() => { api = window.fastApi; }")
    assert reads["most"] == 1 and reads["started"] >= 2, reads
