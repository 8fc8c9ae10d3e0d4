"""Camera sources on their own: the newest-frame slot, file pacing, descriptions without passwords."""

from __future__ import annotations

import time

import cv2
import numpy as np

from maskwatch.core.media import grey_thumbnail
from maskwatch.sources import CameraReader, Frame, FrameSlot, describe


def test_frame_slot_keeps_the_newest_and_counts_drops():
    slot = FrameSlot()
    assert slot.take() is None
    for seq in (1, 2, 3):
        slot.put(Frame(np.zeros((1, 1, 3), np.uint8), seq, 0.0))
    assert slot.take().seq == 3 and slot.dropped == 2
    assert slot.take() is None  # taken once only
    slot.put(Frame(np.zeros((1, 1, 3), np.uint8), 4, 0.0))
    assert slot.take().seq == 4 and slot.dropped == 2


def test_file_reader_honours_fps_and_loops(tmp_path):
    path = tmp_path / "c.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20, (64, 48))
    for i in range(10):  # 0.5 s at 20 fps
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    reader = CameraReader("c", str(path), "file", fps=10)
    reader.start()
    time.sleep(1.55)
    reader.stop()
    reader.join(2)
    # 10 delivered frames a second in real time, looping the 0.5 s clip (every other frame skipped)
    assert 11 <= reader.stats.frames_decoded <= 18, reader.stats.frames_decoded  # 16 expected; slack for a busy machine
    assert reader.slot.dropped == reader.stats.frames_decoded - 1  # nobody took any
    assert not reader.stats.online
    # 20 fps file delivered at 10 fps: every other frame decoded and skipped (not converted, not delivered)
    assert abs(reader.stats.frames_skipped - reader.stats.frames_decoded) <= 2, reader.stats


def test_frames_come_with_the_thumbnails_asked_for(tmp_path):
    """Motion thumbnails are made in the reader thread, beside decoding, not in the analysis loop."""
    path = tmp_path / "c.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), (i * 20, 0, 255 - i * 20), np.uint8))
    writer.release()
    reader = CameraReader("c", str(path), "file", fps=10, thumb_factors=(4,))
    reader.start()
    try:
        deadline = time.monotonic() + 5
        while (frame := reader.slot.take()) is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        reader.stop()
        reader.join(2)
    assert frame is not None and list(frame.thumbs) == [4]
    np.testing.assert_array_equal(frame.thumbs[4], grey_thumbnail(frame.image, 4))
    assert frame.thumbs[4].shape == (12, 16)
    assert CameraReader("c", str(path), "file", fps=10).thumb_factors == ()  # none unless asked


def test_describe_hides_url_passwords():
    assert describe("rtsp://admin:secret@10.0.0.2:554/s1") == "rtsp://***@10.0.0.2:554/s1"
    assert describe("rtsp://10.0.0.2/s1") == "rtsp://10.0.0.2/s1" and describe(0) == "0"
