"""HTTP MJPEG cameras (as IP cameras serve them) and webcam-style sources."""

from __future__ import annotations

from helpers_service.mjpeg import MjpegServer
from helpers_service.servers import free_port, wait_for

from maskwatch.config import CameraConfig
from maskwatch.sources import CameraReader


def test_http_mjpeg_camera_is_read_and_goes_offline_when_the_server_closes(test_clip):  # noqa: F811
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
    kinds = {s: CameraConfig(name="c", source=s).kind for s in
             (0, "1", "/dev/video2", "rtsp://cam/s", "RTSPS://cam/s", "http://cam/v.mjpg", "https://cam/hls.m3u8", "clips/a.mp4")}
    assert kinds == {0: "webcam", "1": "webcam", "/dev/video2": "webcam", "rtsp://cam/s": "rtsp", "RTSPS://cam/s": "rtsp",
                     "http://cam/v.mjpg": "http", "https://cam/hls.m3u8": "http", "clips/a.mp4": "file"}
