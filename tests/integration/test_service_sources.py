"""HTTP cameras (MJPEG, as IP cameras serve it, and HLS, as NVRs and media servers do) and webcam-style sources."""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from helpers_service.mjpeg import MjpegServer
from helpers_service.requires import require
from helpers_service.servers import free_port, wait_for
from maskwatch.config import CameraConfig
from maskwatch.sources import CameraReader


def test_http_mjpeg_camera_is_read_and_goes_offline_when_the_server_closes(test_clip):
    server = MjpegServer(test_clip, fps=10)
    cam = CameraConfig(name="ipcam", source=server.url)
    assert cam.kind == "http"
    reader = CameraReader(cam.name, cam.source, cam.kind, fps=5, backoff_start=0.2, backoff_max=0.5)
    reader.start()
    try:
        assert wait_for(lambda: reader.stats.frames_decoded >= 10, 10), reader.stats.last_error
        assert reader.stats.online and (reader.stats.width, reader.stats.height) == (640, 360)
        assert reader.slot.take().image.shape == (360, 640, 3)
        server.close()
        assert wait_for(lambda: not reader.stats.online, 10)
        assert reader.stats.last_error.startswith(("no frame from", "cannot open"))
        assert wait_for(lambda: reader.stats.reconnects >= 2, 5)  # and it keeps trying
    finally:
        reader.stop()
        reader.join(6)


def test_hls_stream_is_read(test_clip, tmp_path):
    require(shutil.which("ffmpeg") is not None, "ffmpeg", "Debian package 'ffmpeg'")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-i",
            str(test_clip),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "10",
            "-f",
            "hls",
            "-hls_time",
            "1",
            "-hls_playlist_type",
            "vod",
            str(tmp_path / "live.m3u8"),
        ],
        check=True,
        timeout=60,
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cam = CameraConfig(name="nvr", source=f"http://127.0.0.1:{server.server_address[1]}/live.m3u8")
    reader = CameraReader(cam.name, cam.source, cam.kind, fps=5, backoff_start=0.2, backoff_max=0.5)
    reader.start()
    try:
        # a 4 s recorded playlist, read faster than real time: it ends, and is opened again like a dropped stream
        assert wait_for(lambda: reader.stats.frames_decoded >= 10, 10), reader.stats.last_error
        assert (reader.stats.width, reader.stats.height) == (640, 360)
    finally:
        reader.stop()
        reader.join(6)
        server.shutdown()
        server.server_close()


def test_unreachable_stream_is_offline_with_a_reason_and_keeps_retrying():
    url = f"http://127.0.0.1:{free_port()}/video.mjpg"  # nothing listens there
    reader = CameraReader("gone", url, "http", fps=5, backoff_start=0.1, backoff_max=0.3)
    reader.start()
    try:
        assert wait_for(lambda: reader.stats.reconnects >= 3, 10)
        assert not reader.stats.online and reader.stats.last_error.startswith("cannot open")
    finally:
        reader.stop()
        reader.join(6)


def test_source_kinds():
    kinds = {
        s: CameraConfig(name="c", source=s).kind
        for s in (
            0,
            "1",
            "/dev/video2",
            "rtsp://cam/s",
            "RTSPS://cam/s",
            "http://cam/v.mjpg",
            "https://cam/hls.m3u8",
            "clips/a.mp4",
        )
    }
    assert kinds == {
        0: "webcam",
        "1": "webcam",
        "/dev/video2": "webcam",
        "rtsp://cam/s": "rtsp",
        "RTSPS://cam/s": "rtsp",
        "http://cam/v.mjpg": "http",
        "https://cam/hls.m3u8": "http",
        "clips/a.mp4": "file",
    }


def test_probe_a_clip_and_refuse_what_cannot_be_read(test_clip, tmp_path):
    import subprocess
    import sys

    import cv2

    def probe(*args):
        return subprocess.run(
            [sys.executable, "-m", "maskwatch", "probe", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    ok = probe(str(test_clip), "--seconds", "1", "-o", str(tmp_path / "last.jpg"))
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[1].endswith("640x360, the file says 10.0 fps") and lines[2].startswith("decoded 10 frames")
    assert lines[3].startswith("faces in the last frame (detector at 640 px): 2 (")
    assert cv2.imread(str(tmp_path / "last.jpg")).shape == (360, 640, 3)
    (tmp_path / "notes.txt").write_text("not a video")
    for args, message in (
        ([str(tmp_path / "none.mp4")], "no such file"),
        ([str(tmp_path)], "not a file"),
        ([str(tmp_path / "notes.txt")], "not a video or image this machine can decode"),
        (["rtsp://user:secret@127.0.0.1:9/x", "--seconds", "1"], "cannot open rtsp://***@127.0.0.1:9/x"),
    ):
        bad = probe(*args)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and message in bad.stderr, bad.stderr
        assert "secret" not in bad.stderr + bad.stdout


def test_probe_hints_at_a_larger_detector_input_for_small_faces():
    import numpy as np

    from maskwatch.core.detections import Detections
    from maskwatch.sources.probe import ProbeReport

    faces = Detections(
        np.array([[100, 100, 120, 120]], np.float32),
        np.array([0.9], np.float32),
        class_probs=np.array([[0.1, 0.8, 0.1]], np.float32),
    )
    report = ProbeReport(
        "cam", "rtsp", 0.3, 1920, 1080, 25.0, 50, 2.0, 25.0, 640, np.zeros((1080, 1920, 3), np.uint8), faces
    )
    lines = report.lines()
    assert lines[2] == "read 50 frames in 2.0 s: 25.0 fps delivered"
    assert "the smallest is 20 px high in the frame, 6.7 px at the detector's scale" in lines[3]
    # 16 px (the detector's smallest anchor) / 20 px * 1920 = 1536
    assert lines[4].startswith("hint: faces under 16 px") and "detector.input_size: 1536" in lines[4]


def test_a_camera_sending_oversized_frames_is_refused_and_the_others_go_on(test_clip, tmp_path, pipeline):
    """Issue 18 finding 5: 16000 x 16000 JPEGs over MJPEG/HTTP (1 MB each, 768 MB decoded) are refused from their
    header, before decoding; the camera shows why, and the camera beside it is analysed as before."""
    import resource

    from helpers_service.bombs import flat_jpeg
    from maskwatch.config import AppConfig
    from maskwatch.core.image_header import jpeg_size
    from maskwatch.service import Service

    huge = flat_jpeg(16000, 16000)
    assert jpeg_size(huge) == (16000, 16000) and len(huge) < 1_100_000
    normal, bomb = MjpegServer(test_clip, fps=10), MjpegServer(jpegs=[huge], fps=2)
    cameras = [
        {"name": "normal", "source": normal.url, "fps": 5},
        {"name": "huge", "source": bomb.url, "fps": 5, "reconnect_max_seconds": 0.5},
    ]
    config = AppConfig.model_validate(
        {
            "cameras": cameras,
            "ui": {"enabled": False},
            "sinks": {"log": False},
            "storage": {"database": str(tmp_path / "e.db"), "snapshots": str(tmp_path / "s")},
        }
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB
    service = Service(config, pipeline=pipeline)
    service.start()
    status = lambda: {c["name"]: c for c in service.camera_status()}  # noqa: E731
    try:
        assert wait_for(lambda: status()["normal"]["frames_analysed"] >= 10, 20), status()["normal"]
        assert wait_for(lambda: bomb.requests >= 3, 10), "the camera is not tried again"  # backoff, then again
        refused = status()["huge"]
        assert not refused["online"] and refused["frames_decoded"] == 0
        assert "16000x16000" in refused["last_error"] and "max_pixels (8294400)" in refused["last_error"]
        analysed = status()["normal"]["frames_analysed"]
        assert wait_for(lambda: status()["normal"]["frames_analysed"] >= analysed + 10, 10)
        assert (
            status()["normal"]["online"]
            and status()["normal"]["frames_dropped"] <= status()["normal"]["frames_decoded"] / 2
        )
    finally:
        service.stop()
        normal.close()
        bomb.close()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
    assert grown < 300, f"peak memory grew by {grown:.0f} MB: a 16000 x 16000 frame was decoded"


def test_frames_larger_than_max_pixels_are_refused_from_any_source(test_clip):
    reader = CameraReader("file", str(test_clip), "file", fps=5, backoff_start=0.2, backoff_max=0.5, max_pixels=100_000)
    reader.start()
    try:
        assert wait_for(lambda: reader.stats.last_error, 5)
        assert "640x360" in reader.stats.last_error and "max_pixels (100000)" in reader.stats.last_error
        assert reader.stats.frames_decoded == 0 and not reader.stats.online
    finally:
        reader.stop()
        reader.join(3)
