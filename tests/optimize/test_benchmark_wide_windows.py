"""The camera files of `benchmarks/live.py --clip wide` made without an ffmpeg binary (PyAV's libx264): as long as
ffmpeg's, starting at the given clip frame and going on from the clip's first frame at its end."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import live_wide


def test_a_window_starts_at_its_frame_and_loops_the_clip(tmp_path):
    grey = [40 * k for k in range(6)]  # six frames, each one flat grey level
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 15, (64, 48))
    for level in grey:
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.release()
    window = tmp_path / "window.mp4"
    live_wide.encode_window_pyav(clip, 4, window)
    cap = cv2.VideoCapture(str(window))
    levels = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        levels.append(float(frame.mean()))
    assert len(levels) == live_wide.FILE_SECONDS * live_wide.CAMERA_FPS
    expected = [grey[(4 + i) % 6] for i in range(len(levels))]
    np.testing.assert_allclose(levels, expected, atol=6)
