"""Motion gating and the live counters the capacity benchmark reads (frames skipped, result delays)."""

import cv2
import numpy as np

from maskwatch.analysis.motion import MotionGate, changed_fraction, thumbnail


def _scene(shift: int = 0, noise_seed: int | None = None) -> np.ndarray:
    image = np.full((720, 1280, 3), 90, np.uint8)
    cv2.rectangle(image, (400 + shift, 200), (700 + shift, 600), (200, 180, 160), -1)
    if noise_seed is not None:  # sensor noise: +-6 levels per pixel
        noise = np.random.default_rng(noise_seed).integers(-6, 7, image.shape)
        image = np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return image


def test_noise_is_still_a_moving_person_is_not():
    still = changed_fraction(thumbnail(_scene(noise_seed=1)), thumbnail(_scene(noise_seed=2)))
    moved = changed_fraction(thumbnail(_scene(noise_seed=1)), thumbnail(_scene(shift=40, noise_seed=2)))
    assert still == 0.0
    assert moved > 0.02  # two 40x400 px strips of 1280x720 changed: 3.5 % of the frame


def test_gate_detects_after_motion_or_after_redetect_seconds():
    gate = MotionGate(threshold=0.005, redetect_seconds=1.0)
    a, b = thumbnail(_scene(noise_seed=1)), thumbnail(_scene(noise_seed=2))
    assert not gate.still(a, 0.0)  # nothing detected yet
    gate.detected(a, 0.0)
    assert gate.still(b, 0.5)
    assert not gate.still(thumbnail(_scene(shift=40)), 0.5)
    assert not gate.still(b, 1.0)  # too long since the last detection
    assert not MotionGate(threshold=0.0).still(a, 0.0)  # 0: always detect


def test_service_keeps_the_last_faces_of_a_still_camera_and_detects_a_moving_one(tmp_path, pipeline):
    from helpers_service.clips import face_tile
    from helpers_service.fixtures import NO_MASK_LEFT, NO_MASK_RIGHT
    from helpers_service.servers import wait_for
    from maskwatch.config import AppConfig
    from maskwatch.service import Service

    frame = np.concatenate([face_tile(NO_MASK_LEFT), face_tile(NO_MASK_RIGHT)], axis=1)
    clips = {}
    for name, dx in (("still", 0), ("moving", 30)):
        path = clips[name] = tmp_path / f"{name}.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
        for i in range(20):
            shift = np.array([[1, 0, dx * np.sin(i / 20 * np.pi)], [0, 1, 0]], np.float32)
            writer.write(cv2.warpAffine(frame, shift, (640, 360), borderMode=cv2.BORDER_REPLICATE))
        writer.release()
    config = AppConfig.model_validate(
        {
            "cameras": [{"name": n, "source": str(p), "fps": 10} for n, p in clips.items()],
            "detector": {"motion_threshold": 0.01, "redetect_seconds": 1.0},
            "ui": {"enabled": False},
            "sinks": {"log": False},
            "rules": {"alert_labels": []},
            "storage": {"database": str(tmp_path / "e.db"), "snapshots": str(tmp_path / "s")},
        }
    )
    service = Service(config, pipeline=pipeline)
    service.start()
    try:
        assert wait_for(lambda: all(c["frames_analysed"] >= 25 for c in service.camera_status()), 20)
        status = {c["name"]: c for c in service.camera_status()}
        delays = service.result_delays("still")
    finally:
        service.stop()
    still, moving = status["still"], status["moving"]
    assert still["faces"] == 2  # the kept faces are still reported, tracked and judged
    # still: one detection per redetect_seconds (10 analyses a second); moving: most analysed frames detected
    assert still["frames_detected"] <= still["frames_analysed"] / 3, still
    assert moving["frames_detected"] >= moving["frames_analysed"] * 0.6, moving
    assert delays and all(0 <= d < 2.0 for d in delays)
