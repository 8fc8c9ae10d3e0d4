"""Event clips: which frames a clip holds, how alerts share one, the WebM it becomes, and how long it is kept."""

from __future__ import annotations

import os
import threading
import time

import av
import cv2
import numpy as np
import pytest

from maskwatch.events import EventStore, Retention, apply_retention, clip_name, enforce_quota, media_usage, write_atomic
from maskwatch.events.clips import ClipRecorder, ClipTiming, encode_webm


def frame(i: int) -> np.ndarray:
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :, 1] = i * 8 % 256  # each frame's number readable back from its colour
    return image


def record(timing: ClipTiming, times: list[float], alerts: dict[float, list[int]]):
    """Frames at `times` (frame i has colour i); alerts[t]: the keys raised with the frame at t."""
    done = []
    rec = ClipRecorder("cam", timing, done.append)
    for i, t in enumerate(times):
        rec.add(t, frame(i))
        for key in alerts.get(t, []):
            rec.trigger(key, t)
    return rec, done


def test_a_clip_holds_the_frames_before_and_after_its_alert():
    times = [round(0.1 * i, 1) for i in range(60)]  # 10 fps for 6 s
    rec, done = record(ClipTiming(before=1.0, after=2.0, longest=30), times, {2.0: [7]})
    assert len(done) == 1 and rec.recording == []
    clip = done[0]
    assert clip.keys == [7] and clip.camera == "cam"
    assert [t for t, _ in clip.frames] == [t for t in times if 1.0 <= t <= 4.0]
    first = cv2.imdecode(np.frombuffer(clip.frames[0][1], np.uint8), cv2.IMREAD_COLOR)
    assert abs(int(first[:, :, 1].mean()) - 10 * 8) <= 3  # frame 10 (t = 1.0), through JPEG


def test_alerts_while_recording_share_the_clip_while_it_can_hold_them():
    times = [round(0.5 * i, 1) for i in range(60)]  # 2 fps for 30 s
    _, done = record(
        ClipTiming(before=1.0, after=2.0, longest=6.0), times, {2.0: [1], 3.0: [2], 4.5: [3], 6.0: [4], 20.0: [5]}
    )
    assert [c.keys for c in done] == [[1, 2, 3], [4], [5]]
    spans = [[t for t, _ in c.frames] for c in done]
    assert spans[0][0] == 1.0 and spans[0][-1] == 6.5  # 1 s before the first alert, 2 s after the last it took
    # 6.0 + 2 s would run past 6 s from 1.0: that alert gets a clip of its own, frames before it included
    assert spans[1] == [5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0]
    assert spans[2] == [19.0, 19.5, 20.0, 20.5, 21.0, 21.5, 22.0]


def test_a_clip_whose_camera_goes_quiet_ends_with_the_frames_it_has():
    rec, done = record(ClipTiming(before=1.0, after=5.0, longest=30), [0.0, 0.5, 1.0], {1.0: [9]})
    rec.expire(now=5.0)
    assert done == []  # its end (6.0) is not reached yet
    rec.expire(now=8.5)
    assert len(done) == 1 and [t for t, _ in done[0].frames] == [0.0, 0.5, 1.0]
    rec.trigger(10, 20.0)
    rec.finish()  # at shutdown: a clip with no frame yet is dropped, not written empty
    assert len(done) == 1 and rec.recording == []


def test_webm_shows_each_frame_at_its_own_time(tmp_path):
    times = [100.0, 100.1, 100.35, 100.4, 101.2, 102.0]  # analysed frames come unevenly
    frames = [(t, cv2.imencode(".jpg", frame(i * 5))[1].tobytes()) for i, t in enumerate(times)]
    webm = encode_webm(frames, kbps=300)
    assert webm[:4] == b"\x1a\x45\xdf\xa3"  # EBML: Matroska/WebM
    (tmp_path / "clip.webm").write_bytes(webm)
    with av.open(str(tmp_path / "clip.webm")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "vp8" and (stream.width, stream.height) == (64, 48)
        decoded = [(float(f.time), f.to_ndarray(format="bgr24")) for f in container.decode(stream)]
    assert [round(t, 1) for t, _ in decoded] == [0.0, 0.1, 0.3, 0.4, 1.2, 2.0]  # to the encoder's 1/30 s
    for i, (_, image) in enumerate(decoded):
        assert abs(int(image[:, :, 1].mean()) - i * 5 * 8 % 256) <= 6


def test_a_shared_clip_is_deleted_with_the_last_event_that_shows_it(tmp_path):
    now = time.time()
    store = EventStore(tmp_path / "e.db")
    clips, snaps = tmp_path / "clips", tmp_path / "snaps"
    rel = clip_name("cam", now - 8 * 86400 - 20)
    assert rel.startswith("cam/") and rel.endswith(".webm")
    write_atomic(clips / rel, b"webm")
    older, newer = (
        store.add(now - age, "cam", "door", t, "no_mask", 0.9, None)
        for t, age in ((1, 8 * 86400 + 10), (2, 7 * 86400 - 10))
    )
    store.set_clip([older, newer], rel)
    assert store.get(older).clip == store.get(newer).clip == rel
    assert apply_retention(store, snaps, Retention(7), now=now, clips=clips) == 1  # the older event goes
    assert (clips / rel).is_file() and store.get(newer).clip == rel  # the newer one still shows it
    assert apply_retention(store, snaps, Retention(7), now=now + 60, clips=clips) == 1
    assert not (clips / rel).exists() and not (clips / "cam").exists()  # the file, then its empty folders


def test_clips_can_go_sooner_than_their_events(tmp_path):
    now = time.time()
    store = EventStore(tmp_path / "e.db")
    clips = tmp_path / "clips"
    ids, rels = [], []
    for track, age in ((1, 3), (2, 0)):
        rels.append(clip_name("cam", now - age * 86400))
        write_atomic(clips / rels[-1], b"webm")
        ids.append(store.add(now - age * 86400, "cam", "door", track, "no_mask", 0.9, None))
        store.set_clip([ids[-1]], rels[-1])
    stray = clips / "cam" / "lost.webm"  # written, but its event never stored (a crash in between)
    write_atomic(stray, b"webm")
    old = now - 3 * 86400
    os.utime(stray, (old, old))
    assert apply_retention(store, tmp_path / "snaps", Retention(7, clip_days=2), now=now, clips=clips) == 0
    assert store.get(ids[0]).clip is None and not (clips / rels[0]).exists() and not stray.exists()
    assert store.get(ids[1]).clip == rels[1] and (clips / rels[1]).is_file()
    store.close()


def test_snapshots_and_clips_stay_under_max_media_mb_oldest_first(tmp_path):
    store = EventStore(tmp_path / "e.db")
    folders = {"snapshot": tmp_path / "snaps", "clip": tmp_path / "clips"}
    now = time.time()
    ids = []
    for i, (column, size) in enumerate([("snapshot", 400), ("clip", 300), ("snapshot", 200), ("clip", 100)]):
        rel = f"cam/2026-11-27/{i}.{'jpg' if column == 'snapshot' else 'webm'}"
        write_atomic(folders[column] / rel, b"x" * size)
        os.utime(folders[column] / rel, (now - 100 + i, now - 100 + i))  # written in this order
        ids.append(store.add(now - 100 + i, "cam", None, i, "no_mask", 0.9, rel if column == "snapshot" else None))
        if column == "clip":
            store.set_clip([ids[-1]], rel)
    assert media_usage(folders) == {"snapshot": 600, "clip": 400}
    assert enforce_quota(store, folders, max_bytes=1000) == 0  # at the cap: nothing goes
    assert enforce_quota(store, folders, max_bytes=900) == 1  # down to 90 % of the cap: the oldest file is enough
    assert store.get(ids[0]).snapshot is None and store.get(ids[1]).clip is not None
    assert enforce_quota(store, folders, max_bytes=500) == 1  # 600 > 500: the oldest left, a clip, goes
    assert store.get(ids[1]).clip is None and store.get(ids[2]).snapshot and store.get(ids[3]).clip
    assert media_usage(folders) == {"snapshot": 200, "clip": 100} and len(store.query()) == 4  # the events stay
    store.close()


def test_the_retention_job_keeps_the_cap_and_reports_usage(tmp_path):
    from helpers_service.servers import wait_for
    from maskwatch.events import RetentionJob

    store = EventStore(tmp_path / "e.db")
    now = time.time()
    for i in range(5):
        rel = f"cam/2026-11-27/{i}.jpg"
        write_atomic(tmp_path / "snaps" / rel, b"x" * 1000)
        os.utime(tmp_path / "snaps" / rel, (now - 50 + i, now - 50 + i))
        store.add(now - 50 + i, "cam", None, i, "no_mask", 0.9, rel)
    job = RetentionJob(
        store, tmp_path / "snaps", Retention(7), clips=tmp_path / "clips", max_media_bytes=3500, check_seconds=0.1
    )
    job.start()
    try:
        assert wait_for(lambda: job.usage == {"snapshot": 3000, "clip": 0}, 5), job.usage  # 5000 > 3500: down to 3150
        assert [e.snapshot is None for e in store.query(limit=10)][::-1] == [True, True, False, False, False]
    finally:
        job.stop()
        job.join(2)
        store.close()


def test_clips_the_encoder_cannot_keep_up_with_are_dropped_and_counted():
    from maskwatch.events import Clip, ClipEncoder

    release, saved = threading.Event(), []

    def slow(clip, webm):
        release.wait(5)
        saved.append((clip.keys, webm[:4]))

    encoder = ClipEncoder(300, slow, backlog=2)
    encoder.start()
    frames = [(t, cv2.imencode(".jpg", frame(i))[1].tobytes()) for i, t in enumerate([0.0, 0.2, 0.4])]
    for key in range(6):
        encoder.submit(Clip("cam", [key], 0.0, 0.4, frames))
        time.sleep(0.1)  # the first is taken at once and blocks the encoder
    assert encoder.dropped == 3 and encoder.waiting == 2  # 1 encoding, 2 waiting, the rest dropped
    release.set()
    encoder.stop(5)
    assert not encoder.is_alive() and encoder.written == 3
    assert [k for k, _ in saved] == [[0], [1], [2]] and {w for _, w in saved} == {b"\x1a\x45\xdf\xa3"}


def test_clips_can_be_on_for_some_cameras_only(pipeline, test_clip, tmp_path):
    from maskwatch.config import AppConfig
    from maskwatch.service import Service

    cameras = [
        {"name": "corridor", "source": str(test_clip), "clips": True},
        {"name": "treatment", "source": str(test_clip)},
    ]  # clips.enabled unset: off
    cfg = AppConfig.model_validate(
        {
            "cameras": cameras,
            "ui": {"enabled": False},
            "sinks": {"log": False},
            "storage": {"database": str(tmp_path / "e.db"), "snapshots": str(tmp_path / "s")},
        }
    )
    service = Service(cfg, pipeline=pipeline)
    service.start()
    try:
        assert service.clip_encoder is not None
        assert set(service.clips.recorders) == {"corridor"}  # treatment records none
        analysers = {name: cam.analyser for name, cam in service.local.cameras.items()}
        assert analysers["corridor"].clip_width == 640 and analysers["treatment"].clip_width is None
    finally:
        service.stop()
    cfg.cameras[0].clips = None  # now no camera records clips: no encoder either
    service = Service(cfg, pipeline=pipeline)
    service.start()
    try:
        assert service.clip_encoder is None and service.stats()["clips"] is None
    finally:
        service.stop()


def test_a_failed_write_leaves_no_partial_file_and_retention_sweeps_stray_ones(tmp_path):
    import errno

    snaps, clips = tmp_path / "snaps", tmp_path / "clips"
    day = snaps / "cam" / "2026-11-27"
    day.mkdir(parents=True)
    (day / "x.part").symlink_to("/dev/full")  # the partial file lands on a full device: ENOSPC while writing
    with pytest.raises(OSError, match="No space left on device") as failed:
        write_atomic(day / "x.jpg", b"\xff\xd8" + b"\0" * 100_000)
    assert failed.value.errno == errno.ENOSPC
    assert not (day / "x.part").exists() and not (day / "x.part").is_symlink() and not (day / "x.jpg").exists()
    now = time.time()
    stray = snaps / "cam" / "2026-11-27" / "101500_000_t3.part"  # left by a crash or a full disk
    fresh = clips / "cam" / "2026-11-27" / "101600_000.part"  # being written right now
    for part, age in ((stray, 3600), (fresh, 5)):
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"half a file")
        os.utime(part, (now - age, now - age))
    store = EventStore(tmp_path / "e.db")
    apply_retention(store, snaps, Retention(7), now=now, clips=clips)
    assert not stray.exists() and fresh.exists()
