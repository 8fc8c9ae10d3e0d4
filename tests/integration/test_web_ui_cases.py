"""The Cases page in real headless Chromium over a real Service whose camera (a looping clip) feeds `collect:`:
the header says collection is on, the grid shows the crops with the model's guess, the keys label, skip and undo
(each label reaching the store), the counts follow, and the viewer token sees no crop."""

from __future__ import annotations

import os

import pytest
from playwright import sync_api

from helpers_service.servers import wait_for
from helpers_service.web_ui import served, slow_answers

SCREENSHOTS = os.environ.get("MASKWATCH_SCREENSHOTS")  # a folder: the page as the test left it, to look at
TOKEN = "ui-cases-token-83f1"
VIEWER_TOKEN = "ui-cases-viewer-2c7e"


@pytest.fixture(scope="module")
def live(tmp_path_factory, pipeline, test_clip):
    config = {
        "cameras": [{"name": "door-cam", "source": str(test_clip), "fps": 5}],
        "detector": {"input_size": 640, "threads": 1},
        "rules": {"min_seconds": 0.5, "cooldown_seconds": 3.0},
        "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
        # every face of the clip counts as unsure at this margin (theirs are 0.95..0.9992): crops come at once
        "collect": {"enabled": True, "unsure_margin": 0.9995},
        "ui": {"token": TOKEN, "viewer_token": VIEWER_TOKEN},
    }
    with served(tmp_path_factory.mktemp("web_ui_cases"), pipeline, config, TOKEN) as running:
        service, api = running["service"], running["api"]
        assert wait_for(lambda: len(service.events()) >= 1, 60), "no alert within 60 s"
        event_id = service.events()[0]["id"]
        assert api.put(f"/api/events/{event_id}/review", json={"review": "confirmed"}).status_code == 200
        assert wait_for(lambda: service.case_collector.store.counts()["total"] >= 3, 30), "fewer than 3 cases"
        yield running


@pytest.fixture(scope="module")
def page(browser, live):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20000)
    pg.problems = []
    pg.on("pageerror", lambda err: pg.problems.append(f"script error: {err}"))
    pg.goto(f"{live['base']}/cases?token={TOKEN}", wait_until="domcontentloaded")
    sync_api.expect(pg.locator("#case-grid li.case").nth(2)).to_be_visible()
    yield pg
    assert pg.problems == []
    context.close()


def label_of(live, case_id: int) -> str | None:
    listed = live["api"].get("/api/cases", params={"limit": 500}).json()
    return next(c["label"] for c in listed if c["id"] == case_id)


def test_the_header_says_collection_is_on(page):
    sync_api.expect(page.locator("#collect-pill")).to_have_text("Collecting face crops")
    sync_api.expect(page.locator("#collect-pill")).to_have_attribute("data-enabled", "true")


def test_the_grid_shows_crops_with_the_models_guess(page, live):
    cards = page.locator("#case-grid li.case")
    first_id = int(cards.first.get_attribute("data-id"))
    stored = next(c for c in live["api"].get("/api/cases").json() if c["id"] == first_id)
    names = {"mask": "Mask", "no_mask": "No mask", "incorrect": "Mask worn incorrectly"}
    guess = f"model: {names[stored['guess']]} {round(stored['probs'][stored['guess']] * 100)} %"
    sync_api.expect(cards.first.locator(".guess")).to_have_text(guess)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#case-grid img')].slice(0, 3)"
        ".every(i => i.complete && i.naturalWidth > 0 && i.naturalWidth <= 128)"
    )
    reasons = {c.get_attribute("data-reason") for c in cards.all()}
    assert "reviewed_confirmed" in reasons and "unsure" in reasons


def test_keys_label_skip_and_undo(page, live):
    cards = page.locator("#case-grid li.case")
    ids = [int(cards.nth(i).get_attribute("data-id")) for i in range(3)]
    sync_api.expect(cards.nth(0)).to_have_class("case current")
    page.keyboard.press("2")
    sync_api.expect(cards.nth(0)).to_have_attribute("data-label", "no_mask")
    sync_api.expect(cards.nth(1)).to_have_class("case current")
    assert wait_for(lambda: label_of(live, ids[0]) == "no_mask", 5)
    page.keyboard.press(" ")  # skip
    sync_api.expect(cards.nth(2)).to_have_class("case current")
    page.keyboard.press("x")
    sync_api.expect(cards.nth(2)).to_have_attribute("data-label", "not_a_face")
    assert wait_for(lambda: label_of(live, ids[2]) == "not_a_face", 5) and label_of(live, ids[1]) is None
    sync_api.expect(page.locator('#label-counts tr[data-key="not_a_face"] td.num')).to_have_text("1")
    page.keyboard.press("u")
    sync_api.expect(cards.nth(2)).to_have_attribute("data-label", "")
    assert wait_for(lambda: label_of(live, ids[2]) is None, 5)
    page.keyboard.press("Control+z")
    sync_api.expect(cards.nth(0)).to_have_attribute("data-label", "")
    sync_api.expect(cards.nth(0)).to_have_class("case current")
    assert wait_for(lambda: label_of(live, ids[0]) is None, 5)
    page.keyboard.press("1")
    page.keyboard.press("3")  # right after: the second crop, not the first again
    sync_api.expect(cards.nth(1)).to_have_attribute("data-label", "incorrect")
    assert wait_for(lambda: (label_of(live, ids[0]), label_of(live, ids[1])) == ("mask", "incorrect"), 5)
    sync_api.expect(page.locator('#label-counts tr[data-key="mask"] td.num')).to_have_text("1")
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/cases.png")
    actions = [e.action for e in live["service"].case_collector.store.audit.entries(limit=1000)]
    assert actions.count("label") == 4 and actions.count("unlabel") == 2 and actions.count("view") >= 3


def show(page, labelled: str) -> list[list]:
    """The grid for one choice of the labelled filter, once loaded: [(case id, label shown)]."""
    page.select_option("#filter-labelled", labelled)
    sync_api.expect(page.locator("#case-grid")).to_have_attribute("aria-busy", "false")
    return shown(page)


def shown(page) -> list[list]:
    cards = page.locator("#case-grid li.case")
    return cards.evaluate_all("cs => cs.map((c) => [Number(c.dataset.id), c.dataset.label])")


def test_a_late_answer_for_a_filter_left_meanwhile_does_not_fill_the_grid(page):
    assert any(label for _, label in show(page, ""))
    with slow_answers(page, 'path.includes("labelled=true")'):
        page.select_option("#filter-labelled", "true")
        unlabelled = show(page, "false")  # left before its answer came
        assert unlabelled and not any(label for _, label in unlabelled)
        page.wait_for_timeout(2000)  # the late answer has come back
        assert shown(page) == unlabelled


def test_a_label_answered_after_the_grid_changed_marks_its_own_crop_only(page, live):
    first = show(page, "false")[0][0]
    page.evaluate("() => { select(0); document.activeElement.blur(); }")  # the keys go to the grid, not the filter
    with slow_answers(page, 'path.endsWith("/label")', sent_late=True):
        page.keyboard.press("x")
        labelled = show(page, "true")  # loaded before the label is stored
        assert wait_for(lambda: label_of(live, first) == "not_a_face", 5)
        page.wait_for_timeout(500)  # its answer has come back
    assert first not in [case_id for case_id, _ in labelled]
    assert shown(page) == labelled
    assert all(label == label_of(live, case_id) for case_id, label in labelled), labelled
    assert live["api"].put(f"/api/cases/{first}/label", json={"label": None}).status_code == 200


def test_the_viewer_sees_that_faces_are_kept_but_no_crop(browser, live):
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(f"{live['base']}/cases?token={VIEWER_TOKEN}", wait_until="domcontentloaded")
    sync_api.expect(pg.locator("#cases-message")).to_contain_text("only the admin token")
    sync_api.expect(pg.locator("#collect-pill")).to_have_text("Collecting face crops")
    assert pg.locator("#case-grid li").count() == 0
    pg.goto(f"{live['base']}/", wait_until="domcontentloaded")  # the live page says so too
    sync_api.expect(pg.locator("#collect-pill")).to_be_visible()
    if SCREENSHOTS:
        pg.screenshot(path=f"{SCREENSHOTS}/live.png")
    context.close()
