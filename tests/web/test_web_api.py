"""Web API over a real running Service (a clip from CC0 photos as a camera): REST, events, zones, metrics. Tokens,
sessions and the login form: test_web_auth.py."""

from __future__ import annotations

import time
from datetime import datetime

import cv2
import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from helpers_service.live_web import BEARER, TOKEN
from helpers_service.servers import wait_for
from maskwatch.config import load_config
from maskwatch.service import Service
from maskwatch.web import create_app


def test_cameras_state_and_frame(client):
    cams = wait_for(
        lambda: [c for c in client.get("/api/cameras", headers=BEARER).json() if c["frames_analysed"] > 0], 20
    )
    assert [c["name"] for c in cams] == ["door-cam"]
    cam = cams[0]
    assert cam["online"] is True and (cam["width"], cam["height"]) == (640, 360)
    for key in (
        "fps_analysed",
        "frames_decoded",
        "frames_dropped",
        "faces",
        "masked",
        "unmasked",
        "last_error",
        "zones",
    ):
        assert key in cam
    r = client.get("/api/cameras/door-cam/frame.jpg", headers=BEARER)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)
    assert client.get("/api/cameras/nope/frame.jpg", headers=BEARER).status_code == 404
    assert client.get("/api/cameras/nope/zones", headers=BEARER).status_code == 404


def test_cameras_send_every_zone_field(client, running):
    service = running["service"]
    service.set_zones("door-cam", [{"name": "door", "polygon": [[0, 0], [0.5, 0], [0.5, 1]]}])  # defaults unset
    try:
        (cam,) = client.get("/api/cameras", headers=BEARER).json()
        (zone,) = cam["zones"]
        assert zone["restricted"] is True and zone["ignore"] is False and zone["hours"] == []
    finally:
        service.set_zones("door-cam", [])


def test_events_filters_detail_and_snapshot(client):
    events = wait_for(lambda: (e := client.get("/api/events", headers=BEARER).json()) and len(e) >= 2 and e, 30)
    assert events and len(events) >= 2, "no alerts within 30 s"
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)  # newest first
    assert {e["label"] for e in events} <= {"no_mask", "incorrect"} and {e["camera"] for e in events} == {"door-cam"}
    q = lambda **params: client.get("/api/events", params=params, headers=BEARER)  # noqa: E731
    assert all(e["label"] == "no_mask" for e in q(label="no_mask").json())
    assert q(label="mask").json() == [] and q(camera="other").json() == [] and q(zone="nowhere").json() == []
    assert q(since="2999-01-01T00:00:00Z").json() == []
    assert len(q(since=events[-1]["time"]).json()) >= len(events)

    def pages_between_alerts():  # the clip loops, so a new alert may land between two page requests
        newest, first_two, second = q(limit=1).json(), q(limit=2).json(), q(limit=1, offset=1).json()
        return q(limit=1).json() == newest and (first_two, second)

    pages = wait_for(pages_between_alerts, 10)
    assert pages, "a new alert landed during every paging attempt for 10 s"
    first_two, second = pages
    assert len(first_two) == 2 and second[0]["id"] == first_two[1]["id"]
    assert q(label="bogus").status_code == 422 and q(limit=0).status_code == 422 and q(limit=5000).status_code == 422
    bad_since = q(since="yesterday-ish")
    assert bad_since.status_code == 422 and "bad filter" in bad_since.json()["detail"]

    one = client.get(f"/api/events/{events[0]['id']}", headers=BEARER)
    assert one.status_code == 200 and one.json()["id"] == events[0]["id"]
    assert client.get("/api/events/999999", headers=BEARER).status_code == 404
    snap = client.get(f"/api/events/{events[0]['id']}/snapshot", headers=BEARER)
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(snap.content, np.uint8), cv2.IMREAD_COLOR).shape == (360, 640, 3)
    assert client.get("/api/events/999999/snapshot", headers=BEARER).status_code == 404


def test_event_clip_streams_with_ranges_for_seeking(client, running):
    # written after_seconds past the clip's last alert, then encoded on its own thread: slow on a busy machine
    clipped = wait_for(lambda: [e for e in client.get("/api/events", headers=BEARER).json() if e["clip"]], 90)
    assert clipped, "no alert got a clip within 90 s"
    stored = running["service"].clip_path(clipped[0]["id"]).read_bytes()
    whole = client.get(f"/api/events/{clipped[0]['id']}/clip", headers=BEARER)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/webm" and whole.content == stored
    part = client.get(f"/api/events/{clipped[0]['id']}/clip", headers={**BEARER, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == stored[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(stored)}"
    assert client.get("/api/events/999999/clip", headers=BEARER).status_code == 404
    fresh = client.get("/api/events", params={"since": time.time() - 1}, headers=BEARER).json()
    for e in fresh:  # its clip is still being recorded
        assert e["clip"] is None and client.get(f"/api/events/{e['id']}/clip", headers=BEARER).status_code == 404


def test_events_export_as_csv(client):
    import csv
    import io

    wait_for(lambda: len(client.get("/api/events", headers=BEARER).json()) >= 2, 30)
    r = client.get("/api/events.csv", params={"label": "no_mask"}, headers=BEARER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="maskwatch-events.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    since_export = client.get("/api/events", params={"label": "no_mask", "limit": 1000}, headers=BEARER).json()
    by_id = {e["id"]: e for e in since_export}
    assert rows and all(row["label"] == "no_mask" and row["camera"] == "door-cam" for row in rows)
    for row in rows:  # the same events as the JSON API (which may have gained newer ones since)
        e = by_id[int(row["id"])]
        assert (row["time"], row["zone"], int(row["track_id"]), float(row["confidence"])) == (
            e["time"],
            e["zone"],
            e["track_id"],
            e["confidence"],
        )
        assert [float(row[k]) for k in ("x1", "y1", "x2", "y2")] == e["box"] and row["snapshot"] == e["snapshot"]
        assert float(row["held_seconds"]) == e["held_seconds"] >= 0.5  # rules.min_seconds: the label held that long
        assert row["clip"] in ("", e["clip"])  # a clip may have been finished between the two requests
    assert [int(row["id"]) for row in rows] == sorted((int(row["id"]) for row in rows), reverse=True)
    assert client.get("/api/events.csv", params={"since": "2999-01-01"}, headers=BEARER).text.strip().count("\n") == 0
    assert client.get("/api/events.csv", params={"since": "nope"}, headers=BEARER).status_code == 422


def test_events_reviewed_as_confirmed_or_false_alarm(client):
    import csv
    import io

    wait_for(lambda: len(client.get("/api/events", headers=BEARER).json()) >= 2, 30)
    first, second = client.get("/api/events", params={"limit": 2}, headers=BEARER).json()
    assert first["review"] is None and second["review"] is None

    def review(event_id, value):
        return client.put(f"/api/events/{event_id}/review", json={"review": value}, headers=BEARER)

    marked = review(first["id"], "false_alarm")
    assert marked.status_code == 200 and marked.json()["review"] == "false_alarm" and marked.json()["id"] == first["id"]
    assert review(second["id"], "confirmed").json()["review"] == "confirmed"

    def ids(**params):
        return {e["id"] for e in client.get("/api/events", params={"limit": 1000, **params}, headers=BEARER).json()}

    assert ids(review="false_alarm") == {first["id"]} and ids(review="confirmed") == {second["id"]}
    assert (
        first["id"] not in ids(review="unreviewed") and ids(review="unreviewed") | {first["id"], second["id"]} == ids()
    )
    rows = {
        int(r["id"]): r["review"]
        for r in csv.DictReader(
            io.StringIO(client.get("/api/events.csv", params={"review": "false_alarm"}, headers=BEARER).text)
        )
    }
    assert rows == {first["id"]: "false_alarm"}
    stats = client.get("/api/stats", headers=BEARER).json()["events_by_review"]
    assert stats["false_alarm"] == 1 and stats["confirmed"] == 1 and sum(stats.values()) >= 2
    metrics = client.get("/metrics", headers=BEARER).text
    assert 'maskwatch_events_reviewed{review="false_alarm"} 1.0' in metrics
    zone = first["zone"] or ""  # per camera and zone: the false-alarm rate among the reviewed, as an operator tunes
    assert f'maskwatch_alerts_reviewed{{camera="door-cam",review="false_alarm",zone="{zone}"}} 1.0' in metrics
    if second["zone"] == first["zone"]:
        assert f'maskwatch_false_alarm_ratio{{camera="door-cam",zone="{zone}"}} 0.5' in metrics
        (row,) = [r for r in client.get("/api/reviews", headers=BEARER).json() if (r["zone"] or "") == zone]
        assert (row["confirmed"], row["false_alarm"], row["false_alarm_rate"]) == (1, 1, 0.5)
        assert row["alerts"] == row["confirmed"] + row["false_alarm"] + row["unreviewed"] >= 2
    assert client.get("/api/reviews", params={"days": 0}, headers=BEARER).status_code == 422
    # taken back, refused values, unknown events
    assert review(first["id"], None).json()["review"] is None and ids(review="false_alarm") == set()
    assert review(first["id"], "maybe").status_code == 422
    assert client.put(f"/api/events/{first['id']}/review", json={}, headers=BEARER).status_code == 422
    assert review(10**9, "confirmed").status_code == 404
    assert client.get("/api/events", params={"review": "maybe"}, headers=BEARER).status_code == 422
    assert client.put(f"/api/events/{first['id']}/review", json={"review": "confirmed"}).status_code == 401


def test_compliance_counts_people_per_camera_and_zone(client):
    import csv
    import io

    assert wait_for(lambda: client.get("/api/compliance", headers=BEARER).json(), 30), "nobody counted within 30 s"
    rows = client.get("/api/compliance", params={"days": 1, "bucket": "all"}, headers=BEARER).json()
    assert rows and all(r["camera"] == "door-cam" and r["start"] is None for r in rows)
    for r in rows:
        assert r["people"] == r["mask"] + r["no_mask"] + r["incorrect"] >= 1
        assert r["masked_share"] == round(r["mask"] / r["people"], 4)
    by_day = client.get("/api/compliance", headers=BEARER).json()  # the last 7 days, by day
    assert by_day[0]["start"].endswith(("+00:00", "Z")) or by_day[0]["start"][-6] in "+-"
    assert sum(r["people"] for r in by_day) >= sum(r["people"] for r in rows)  # counts only grow meanwhile
    for params in ({"bucket": "week"}, {"since": "nope"}, {"days": 0}):
        assert client.get("/api/compliance", params=params, headers=BEARER).status_code == 422, params
        assert client.get("/api/compliance.csv", params=params, headers=BEARER).status_code == 422, params
    # as CSV: the same rows (asked again until nobody was counted between the JSON and the CSV)
    params = {"bucket": "hour"}
    for _ in range(10):
        as_json = client.get("/api/compliance", params=params, headers=BEARER).json()
        export = client.get("/api/compliance.csv", params=params, headers=BEARER)
        if client.get("/api/compliance", params=params, headers=BEARER).json() == as_json:
            break
    assert (
        export.headers["content-type"].startswith("text/csv")
        and "maskwatch-compliance.csv" in export.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [
        (r["start"], r["zone"] or None, int(r["people"]), int(r["mask"]), float(r["masked_share"])) for r in rows
    ] == [(r["start"], r["zone"], r["people"], r["mask"], r["masked_share"]) for r in as_json]
    assert 'maskwatch_people_seen{camera="door-cam"' in client.get("/metrics", headers=BEARER).text


def test_stats_and_metrics(client):
    wait_for(lambda: client.get("/api/stats", headers=BEARER).json()["events_total"] > 0, 30)
    stats = client.get("/api/stats", headers=BEARER).json()
    assert stats["cameras_online"] == 1 and stats["events_total"] > 0 and "door-cam" in stats["cameras"]
    assert stats["time_zone"] == datetime.now().astimezone().tzname()  # no rules.timezone: the machine's
    r = client.get("/metrics", headers=BEARER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'maskwatch_camera_online{camera="door-cam"} 1.0' in r.text
    assert "maskwatch_frames_analysed_total" in r.text
    storage = stats["storage"]
    assert storage["database_bytes"] > 0 and storage["max_media_bytes"] is None  # no cap set
    assert {"snapshots_bytes", "clips_bytes"} <= set(storage)  # as of the retention job's last check
    assert all(f'maskwatch_storage_bytes{{kind="{kind}"}}' in r.text for kind in ("snapshots", "clips", "database"))
    assert "maskwatch_clips_written_total" in r.text and "maskwatch_clips_dropped_total 0.0" in r.text


TRIANGLE = [[0, 0], [1, 0], [1, 1]]  # a valid polygon, where something else is wrong
BAD_ZONES = [
    ({"zones": [{"name": "a", "polygon": [[0, 0], [2, 0], [1, 1]]}]}, "outside 0..1"),
    ({"zones": [{"name": "a", "polygon": [[0, 0], [1, 0]]}]}, "at least 3"),
    ({"zones": [{"name": "a b/c", "polygon": TRIANGLE}]}, "pattern"),
    (
        {
            "zones": [
                {"name": "a", "polygon": TRIANGLE},
                {"name": "a", "polygon": [[0, 0], [1, 0], [0, 1]]},
            ]
        },
        "repeat",
    ),
    ({"zones": "door"}, "a list"),
    (
        {"zones": [{"name": "a", "polygon": TRIANGLE, "hours": ["weekdays 9-5"]}]},
        "DAYS HH:MM-HH:MM",
    ),
    (
        {"zones": [{"name": "a", "polygon": TRIANGLE, "alert_labels": ["masked"]}]},
        "alert_labels[0]",
    ),
    (
        {"zones": [{"name": "a", "polygon": TRIANGLE, "ignore": True, "alert_labels": ["no_mask"]}]},
        "zones[0]: an ignored zone takes no hours or alert_labels",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_ZONES)
def test_bad_zones_are_refused_with_the_reason(client, body, message):
    r = client.put("/api/cameras/door-cam/zones", json=body, headers=BEARER)
    assert r.status_code == 422 and message in r.json()["detail"], (body, r.text)


def test_zones_validated_applied_and_saved(client, running):
    url = "/api/cameras/door-cam/zones"
    r = client.put(url, content=b"{not json", headers={**BEARER, "Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    assert client.put("/api/cameras/nope/zones", json={"zones": []}, headers=BEARER).status_code == 404

    zones = [
        {
            "name": "door",
            "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]],
            "restricted": True,
            "hours": ["daily 00:00-24:00"],
            "alert_labels": ["no_mask", "incorrect"],
            "ignore": False,
        },
        {
            "name": "hall",
            "polygon": [[0.5, 0], [1, 0], [1, 1], [0.5, 1]],
            "restricted": False,
            "hours": [],
            "alert_labels": None,
            "ignore": False,
        },
    ]
    r = client.put(url, json={"zones": zones}, headers=BEARER)
    assert r.status_code == 200 and r.json() == {"camera": "door-cam", "zones": zones}
    assert client.get(url, headers=BEARER).json() == zones
    assert [c["zones"] for c in client.get("/api/cameras", headers=BEARER).json()] == [zones]
    saved = yaml.safe_load(running["config_path"].read_text())["cameras"][0]["zones"]
    assert [z["name"] for z in saved] == ["door", "hall"]
    assert saved[0]["hours"] == ["daily 00:00-24:00"] and "hours" not in saved[1]
    assert saved[0]["alert_labels"] == ["no_mask", "incorrect"] and "alert_labels" not in saved[1]
    assert "ignore" not in saved[0] and "ignore" not in saved[1]  # written only where set
    # applied to the running rules: new events only in the restricted 'door'
    since = time.time()
    fresh = wait_for(lambda: client.get("/api/events", params={"since": since}, headers=BEARER).json(), 20)
    assert fresh and {e["zone"] for e in fresh} == {"door"}


def test_service_not_running_is_503(pipeline, tmp_path, test_clip):
    config_path = tmp_path / "m.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "cameras": [{"name": "c", "source": str(test_clip)}],
                "ui": {"token": TOKEN},
                "storage": {"database": "e.db", "snapshots": "s"},
            }
        )
    )
    client = TestClient(create_app(Service(load_config(config_path), config_path, pipeline=pipeline)))
    r = client.get("/api/events", headers=BEARER)
    assert r.status_code == 503 and "not running" in r.json()["detail"]
    assert client.get("/api/cameras/c/frame.jpg", headers=BEARER).status_code == 503
    assert client.get("/api/cameras", headers=BEARER).json()[0]["online"] is False
