"""Several analysis threads: each takes its share of the cameras, and every camera is analysed."""

import threading

import numpy as np

from helpers_service.servers import wait_for
from maskwatch.analysis.analyser import NoOutput
from maskwatch.analysis.cameras import LocalCameras
from maskwatch.backends import make_pipeline
from maskwatch.config import AppConfig
from maskwatch.data.scene_video import write_video


def test_cameras_are_shared_between_the_analysis_threads_and_all_analysed(tmp_path):
    rng = np.random.default_rng(0)
    clip = write_video([rng.integers(0, 255, (240, 320, 3), np.uint8) for _ in range(20)], tmp_path / "noise.mp4")
    cameras = [{"name": f"cam{i}", "source": str(clip), "fps": 5, "loop": True} for i in range(3)]
    config = AppConfig.model_validate({"cameras": cameras, "scale": {"analysis_threads": 2}})
    local = LocalCameras(config, make_pipeline(config.detector), NoOutput())
    assert local.shares == [["cam0", "cam2"], ["cam1"]]
    local.start()
    try:
        assert {t.name for t in threading.enumerate()} >= {"analyser", "analyser-1"}
        assert wait_for(lambda: all(s.frames_analysed >= 3 for s in local.status()), 20)
        assert local.alive()
    finally:
        local.stop(5.0)
    assert not any(loop.is_alive() for loop in local.loops)


def test_one_thread_takes_every_camera():
    config = AppConfig.model_validate(
        {
            "cameras": [{"name": "a", "source": "a.mp4"}, {"name": "b", "source": "b.mp4"}],
            "scale": {"analysis_threads": 1},
        }
    )
    assert LocalCameras(config, make_pipeline(config.detector), NoOutput()).shares == [["a", "b"]]
