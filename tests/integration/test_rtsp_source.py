"""An RTSP camera: the test clip served over RTSP on localhost (GStreamer's RTSP server), read as a camera.

Needs the Debian packages python3-gi, gir1.2-gst-rtsp-server-1.0 and gstreamer1.0-plugins-good (run with the
system /usr/bin/python3, which has the GObject bindings).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import pytest

from helpers_service.requires import require
from helpers_service.servers import free_port, wait_for
from maskwatch.config import AppConfig
from maskwatch.service import Service
from maskwatch.sources import CameraReader

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).parents[1] / "helpers_service" / "rtsp_server.py"


def _gst_rtsp_available() -> bool:
    """GStreamer's RTSP server, which the server script loads through the system Python's gi."""
    if not Path(SYSTEM_PYTHON).is_file():
        return False
    probe = 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer'
    return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, check=False).returncode == 0


class RtspServer:
    def __init__(self, frames: Path, fps: int = 10):
        self.port, self.frames, self.fps = free_port(), frames, fps
        self.proc: subprocess.Popen | None = None
        self.url = f"rtsp://127.0.0.1:{self.port}/live"

    def start(self):
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), str(self.port), str(self.frames), str(self.fps)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


@pytest.fixture(scope="module")
def rtsp(tmp_path_factory, test_clip):
    require(
        _gst_rtsp_available(),
        f"GStreamer's RTSP server for {SYSTEM_PYTHON}",
        "Debian packages python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good",
    )
    frames = tmp_path_factory.mktemp("rtsp_frames")
    cap = cv2.VideoCapture(str(test_clip))
    n = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        cv2.imwrite(str(frames / f"frame{n:03d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        n += 1
    server = RtspServer(frames)
    server.start()
    yield server
    server.stop()


def test_rtsp_stream_read_as_camera_reconnects_after_stream_closes(rtsp):
    reader = CameraReader("rtsp-cam", rtsp.url, "rtsp", fps=5, backoff_start=0.3, backoff_max=1.0)
    reader.start()
    try:
        assert wait_for(lambda: reader.stats.frames_decoded >= 10, 15), (
            f"no frames over RTSP: {reader.stats.last_error}"
        )
        assert reader.stats.online and (reader.stats.width, reader.stats.height) == (640, 360)
        frame = reader.slot.take()
        assert frame is not None and frame.image.shape == (360, 640, 3) and frame.opening == 1
        rtsp.stop()  # the stream closes: offline
        assert wait_for(lambda: not reader.stats.online, 10)
        stopped_at = reader.stats.frames_decoded
        rtsp.start()  # and comes back on the same address
        assert wait_for(lambda: reader.stats.online and reader.stats.frames_decoded > stopped_at + 5, 15)
        assert reader.slot.take().opening >= 2  # frames of the new opening say so: the analysis starts afresh
    finally:
        reader.stop()
        reader.join(6)


def test_rtsp_camera_in_the_service_raises_alerts(rtsp, pipeline, tmp_path):
    cfg = AppConfig.model_validate(
        {
            "cameras": [
                {
                    "name": "platform",
                    "source": rtsp.url,
                    "fps": 5,
                    "zones": [{"name": "gate", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}],
                }
            ],
            "rules": {"min_seconds": 0.5},
            "sinks": {"log": False},
            "storage": {"database": str(tmp_path / "e.db"), "snapshots": str(tmp_path / "s")},
        }
    )
    service = Service(cfg, pipeline=pipeline)
    service.start()
    try:
        events = wait_for(service.events, 20)
        assert (
            events
            and events[0]["camera"] == "platform"
            and events[0]["zone"] == "gate"
            and events[0]["label"] == "no_mask"
        )
        status = service.camera_status()[0]
        assert (
            status["online"] and status["kind"] == "rtsp" and status["frames_decoded"] > status["frames_analysed"] > 0
        )
        # a live stream at 10 fps analysed at 5 fps: frames overwritten before analysis are counted as dropped
        assert status["frames_dropped"] > 0
    finally:
        service.stop()


def test_probe_reads_the_rtsp_stream_at_its_rate(rtsp):
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "maskwatch", "probe", rtsp.url, "--seconds", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"source: {rtsp.url} (rtsp)" and "640x360" in lines[1]
    fps = float(lines[2].split(": ")[1].split(" fps")[0])
    assert 6 <= fps <= 14, lines[2]  # the server sends 10 a second
    assert lines[3].startswith("faces in the last frame (detector at 640 px): ")
