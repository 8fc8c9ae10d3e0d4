"""The Cases API over a real Service (collect: on, its one camera disabled) and its real cases store: only the
admin token lists, views or labels crops (the viewer gets 403), each of those is in the audit log, labels come
and go, bad input is one line, and the status says whether faces are kept."""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from maskwatch.cases.crops import encode_jpeg
from maskwatch.config import load_config
from maskwatch.service import Service
from maskwatch.web import create_app

TOKEN = "cases-admin-token-7d1e"
VIEWER_TOKEN = "cases-viewer-token-4b2a"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
VIEWER = {"Authorization": f"Bearer {VIEWER_TOKEN}"}


def write_config(folder, collect: dict):
    path = folder / "maskwatch.yaml"
    config = {
        "cameras": [{"name": "door-cam", "source": str(folder / "none.mp4"), "enabled": False}],
        "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
        "collect": collect,
        "ui": {"token": TOKEN, "viewer_token": VIEWER_TOKEN},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    path = write_config(tmp_path_factory.mktemp("web_cases"), {"enabled": True, "retention_days": 10})
    svc = Service(load_config(path), path)
    svc.start()
    store = svc.case_collector.store
    crop = encode_jpeg(np.full((96, 80, 3), 128, np.uint8), 90)
    now = time.time()
    store.add(crop, "door-cam", "door", now - 30, "unsure", "mask_classifier-aa", [0.5, 0.45, 0.05])
    store.add(crop, "door-cam", None, now - 20, "flipped", "mask_classifier-aa", [0.2, 0.7, 0.1])
    store.add(crop, "door-cam", "door", now - 10, "reviewed_false_alarm", "mask_classifier-aa", [0.1, 0.8, 0.1], 3)
    yield svc
    svc.stop()


@pytest.fixture
def client(service):
    return TestClient(create_app(service))


def test_the_viewer_gets_403_on_every_route_with_crops(client):
    for method, path in [
        ("get", "/api/cases"),
        ("get", "/api/cases/counts"),
        ("get", "/api/cases/1/crop.jpg"),
    ]:
        answer = client.request(method.upper(), path, headers=VIEWER)
        assert answer.status_code == 403 and answer.json() == {"detail": "face crops are for the admin token only"}
    answer = client.put("/api/cases/1/label", headers=VIEWER, json={"label": "mask"})
    assert answer.status_code == 403 and "read-only" in answer.json()["detail"]
    assert client.get("/api/cases").status_code == 401  # no token at all


def test_status_says_collection_is_on_to_any_role(client):
    for headers in (ADMIN, VIEWER):
        status = client.get("/api/cases/status", headers=headers).json()
        assert status["enabled"] is True and status["retention_days"] == 10 and status["total"] >= 3


def test_list_filter_view_label_and_undo_each_in_the_audit_log(client, service):
    audit = service.case_collector.store.audit
    listed = client.get("/api/cases", headers=ADMIN).json()
    assert [c["reason"] for c in listed] == ["reviewed_false_alarm", "flipped", "unsure"]  # newest first
    first = listed[-1]
    assert first["guess"] == "mask" and first["probs"]["no_mask"] == 0.45 and first["label"] is None
    assert first["model_version"] == "mask_classifier-aa" and first["zone"] == "door"
    assert [c["reason"] for c in client.get("/api/cases?reason=reviewed", headers=ADMIN).json()] == [
        "reviewed_false_alarm"
    ]
    image = client.get(f"/api/cases/{first['id']}/crop.jpg", headers=ADMIN)
    assert (
        image.status_code == 200 and image.headers["content-type"] == "image/jpeg" and image.content[:2] == b"\xff\xd8"
    )
    labelled = client.put(f"/api/cases/{first['id']}/label", headers=ADMIN, json={"label": "incorrect"}).json()
    assert labelled["label"] == "incorrect" and labelled["labelled_at"].endswith("Z")
    assert [c["id"] for c in client.get("/api/cases?labelled=true", headers=ADMIN).json()] == [first["id"]]
    counts = client.get("/api/cases/counts", headers=ADMIN).json()
    assert counts["labels"]["incorrect"] == 1 and counts["reasons"]["unsure"] == 1 and counts["labelled"] == 1
    undone = client.put(f"/api/cases/{first['id']}/label", headers=ADMIN, json={"label": None}).json()
    assert undone["label"] is None and undone["labelled_at"] is None
    actions = [(e.role, e.action, e.what) for e in audit.entries(limit=5)][::-1]
    assert actions[-4:] == [
        ("admin", "view", f"case {first['id']}"),
        ("admin", "label", f"case {first['id']} -> incorrect (was None)"),
        ("admin", "list", "1 cases (labelled=True)"),
        ("admin", "unlabel", f"case {first['id']} (was incorrect)"),
    ]
    assert [e.action for e in audit.entries(limit=100)].count("list") == 3


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("put", "/api/cases/1/label", {"label": "beard"}, 422, "label: Input should be"),
        ("put", "/api/cases/999/label", {"label": "mask"}, 404, "no case 999"),
        ("get", "/api/cases/999/crop.jpg", None, 404, "no case 999"),
        ("get", "/api/cases?reason=everything", None, 422, "reason"),
        ("get", "/api/cases/0/crop.jpg", None, 422, "case_id"),
    ],
)
def test_bad_input_is_one_line(client, method, path, body, status, fragment):
    answer = client.request(method.upper(), path, headers=ADMIN, json=body)
    assert answer.status_code == status and fragment in answer.json()["detail"] and "\n" not in answer.json()["detail"]


def test_with_collection_off_and_nothing_kept_the_routes_say_so(tmp_path):
    path = write_config(tmp_path, {"enabled": False})
    svc = Service(load_config(path), path)
    svc.start()
    try:
        client = TestClient(create_app(svc))
        assert client.get("/api/cases/status", headers=VIEWER).json()["enabled"] is False
        answer = client.get("/api/cases", headers=ADMIN)
        assert answer.status_code == 404 and "collect.enabled" in answer.json()["detail"]
    finally:
        svc.stop()


def test_the_cases_page_is_served_with_the_page_policy(client):
    page = client.get("/cases", headers=ADMIN)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
