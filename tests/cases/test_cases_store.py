"""The cases store on real SQLite and real files: crops are small face boxes, labels go on and come off, retention
and the size cap remove the oldest first, and the audit log records who did what."""

from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest

from maskwatch.cases import CASE_LABELS, CaseStore, face_crop
from maskwatch.cases.crops import encode_jpeg

DAY = 86400.0


def noisy_jpeg(side: int = 100, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return encode_jpeg(rng.integers(0, 255, (side, side, 3), np.uint8), 90)


def test_a_crop_is_the_face_box_with_its_margin_and_never_larger_than_asked():
    scene = np.zeros((720, 1280, 3), np.uint8)
    scene[300:400, 600:680] = 200  # the face
    crop = face_crop(scene, (600, 300, 680, 400), margin=0.1, max_side=128)
    assert crop is not None and crop.shape[:2] == (120, 96)  # 100 + 2 * 10 rows, 80 + 2 * 8 columns
    assert crop[10:110, 8:88].min() == 200 and crop[:5].max() == 0  # the face and a little around it
    big = face_crop(scene, (100, 100, 500, 600), margin=0.15, max_side=128)
    assert big is not None and max(big.shape[:2]) == 128  # scaled down, never the scene
    edge = face_crop(scene, (1250, 700, 1300, 760), margin=0.2, max_side=128)
    assert edge is not None and edge.shape[:2] == (720 - 688, 1280 - 1240)  # clipped to the frame
    assert face_crop(scene, (1300, 800, 1400, 900), margin=0.1, max_side=128) is None  # outside


def test_cases_keep_their_provenance_and_labels_come_and_go(tmp_path):
    store = CaseStore(tmp_path / "cases")
    at = time.time()
    first = store.add(noisy_jpeg(), "door", "entrance", at, "unsure", "mask_classifier-1a2b", [0.45, 0.40, 0.15])
    second = store.add(noisy_jpeg(seed=1), "hall", None, at + 1, "reviewed_false_alarm", "v", [0.1, 0.8, 0.1], 7)
    case = store.get(first)
    assert case is not None and case.camera == "door" and case.zone == "entrance" and case.reason == "unsure"
    assert case.probs == {"mask": 0.45, "no_mask": 0.4, "incorrect": 0.15} and case.guess == "mask"
    assert case.label is None and case.labelled_at is None and case.model_version == "mask_classifier-1a2b"
    path = store.crop_path(case)
    assert path is not None and path.read_bytes()[:2] == b"\xff\xd8" and path.is_relative_to(tmp_path / "cases")
    assert store.by_event(7).id == second
    labelled = store.set_label(first, "not_a_face", at=at + 5)
    assert labelled.label == "not_a_face" and labelled.labelled_at == at + 5
    assert [c.id for c in store.query(labelled=True)] == [first]
    assert [c.id for c in store.query(labelled=False)] == [second]
    assert [c.id for c in store.query(reason="reviewed")] == [second]
    counts = store.counts()
    assert counts["total"] == 2 and counts["labelled"] == 1
    assert counts["reasons"] == {"reviewed_confirmed": 0, "reviewed_false_alarm": 1, "unsure": 1, "flipped": 0}
    assert counts["labels"]["not_a_face"] == 1 and counts["labels"]["unlabelled"] == 1
    assert store.set_label(first, None).label is None  # undo
    assert store.set_label(999, "mask") is None
    with pytest.raises(ValueError, match="unknown label"):
        store.set_label(first, "beard")
    assert set(CASE_LABELS) == {"mask", "no_mask", "incorrect", "not_a_face"}
    store.close()
    reopened = CaseStore(tmp_path / "cases")  # kept across restarts
    assert reopened.counts()["total"] == 2


def test_retention_and_the_size_cap_remove_the_oldest_first(tmp_path):
    store = CaseStore(tmp_path / "cases", retention_days=14, max_mb=None)
    now = time.time()
    old = store.add(noisy_jpeg(), "door", None, now - 15 * DAY, "unsure", "v", [0.5, 0.4, 0.1])
    kept = store.add(noisy_jpeg(), "door", None, now - 13 * DAY, "unsure", "v", [0.5, 0.4, 0.1])
    old_file = store.crop_path(store.get(old))
    assert store.purge(now) == 1 and store.get(old) is None and store.get(kept) is not None
    assert not old_file.exists() and not old_file.parent.exists()  # and its empty day folder
    size = len(noisy_jpeg())
    capped = CaseStore(tmp_path / "capped", retention_days=14, max_mb=size * 10 / 1e6)  # room for 10 crops
    ids = [capped.add(noisy_jpeg(), "door", None, now - 100 + i, "flipped", "v", [0.3, 0.6, 0.1]) for i in range(12)]
    assert capped.purge(now) == 3  # down to 90 % of the cap: 9 crops
    assert [c.id for c in capped.query(oldest_first=True)] == ids[3:]
    stray = capped.crops / "2020-01-01" / "orphan.jpg"  # written, but the row never made it (a crash)
    stray.parent.mkdir()
    stray.write_bytes(noisy_jpeg())
    os.utime(stray, (now - 7200, now - 7200))
    capped.purge(now)
    assert not stray.exists()
    assert capped.purge(now, everything=True) == 9 and capped.counts()["total"] == 0


def test_the_audit_log_says_who_did_what_newest_first(tmp_path):
    store = CaseStore(tmp_path / "cases")
    store.audit.write("admin", "view", "case 1", at=100.0)
    store.audit.write("cli", "export", "2 crops to /tmp/out", at=200.0)
    entries = store.audit.entries()
    assert [(e.role, e.action, e.what, e.time) for e in entries] == [
        ("cli", "export", "2 crops to /tmp/out", 200.0),
        ("admin", "view", "case 1", 100.0),
    ]
    assert [e.action for e in store.audit.entries(action="view")] == ["view"]
    now = time.time()
    store.audit.write("admin", "label", "case 2 -> mask", at=now - 399 * DAY)
    store.purge(now)  # the log is kept 400 days, longer than any crop
    assert [e.what for e in store.audit.entries()] == ["case 2 -> mask"]


def test_a_decoded_crop_is_the_small_jpeg_that_was_kept(tmp_path):
    store = CaseStore(tmp_path / "cases")
    case_id = store.add(noisy_jpeg(64), "door", None, time.time(), "unsure", None, [0.5, 0.45, 0.05])
    image = cv2.imread(str(store.crop_path(store.get(case_id))))
    assert image.shape == (64, 64, 3)
