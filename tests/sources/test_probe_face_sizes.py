"""`maskwatch probe` tells what face sizes a camera shows and which detector setting they need: on real clips
written here (one real face at a known size), and the advice's arithmetic on its own."""

import subprocess
import sys

import numpy as np
import pytest

from maskwatch.core.detections import Detections
from maskwatch.data.scene_video import size_sweep_frames, write_video
from maskwatch.data.scenes import still_background
from maskwatch.sources.face_sizes import (
    LARGEST_SEEN_AT_INPUT,
    SMALLEST_SEEN_AT_INPUT,
    FaceSizes,
    FrameSampler,
    input_size_for_face,
)


def test_frames_are_sampled_across_the_whole_read():
    sampler = FrameSampler(keep=10)
    for i in range(100):
        sampler.add(np.full((1, 1), i, np.uint8))
    picked = [int(frame[0, 0]) for frame in sampler.picked(5)]
    assert len(picked) == 5 and picked[0] == 0 and picked[-1] == 99, picked
    assert picked == sorted(picked)


def sizes(*px):
    boxes = np.array([[0, 0, p, p] for p in px], np.float32).reshape(-1, 4)
    return FaceSizes.of([Detections(boxes, np.full(len(px), 0.9, np.float32))])


def test_the_advice_follows_the_measured_limits():
    small = sizes(100, 150).advice(1920, 1080, 640)  # 100 px is 33 px at the input
    needed = input_size_for_face(100, 1920)
    assert needed == -(-SMALLEST_SEEN_AT_INPUT * 1920 / 100 // 32) * 32
    assert small.startswith("settings: faces from 100 px: below what detector.input_size 640 sees reliably on a 1920")
    assert f"detector.input_size {needed} would see them" in small
    assert "even detector.input_size 2048, the largest," in sizes(20).advice(1920, 1080, 640)
    fine = sizes(150, 300).advice(1920, 1080, 640)
    assert fine.endswith(": fine"), fine
    close = sizes(230).advice(240, 240, 640)  # blown up 2.7x: 613 px at the input
    assert close.startswith("settings: faces up to 230 px: above"), close
    fitting = int(close.rsplit("detector.input_size ", 1)[1].split()[0])
    assert fitting % 32 == 0 and 230 * fitting / 240 <= LARGEST_SEEN_AT_INPUT
    assert sizes().summary().startswith("face sizes: no face")
    assert "smallest 30 px, median 50 px, largest 80 px" in sizes(30, 50, 80).summary()


@pytest.fixture(scope="module")
def face(sweep_face):
    return sweep_face


def probe_clip(face, tmp_path, frame_size, size, *options):
    patch, box, backdrop = face
    background = still_background(backdrop, frame_size, np.random.default_rng(0))
    ((_, frame, _),) = size_sweep_frames(patch, box, "no_mask", [size], background)
    clip = write_video([frame] * 10, tmp_path / f"cam_{size}.mp4", fps=10)
    proc = subprocess.run(
        [sys.executable, "-m", "maskwatch", "probe", str(clip), "--seconds", "1", *options],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[4].startswith("face sizes over 5 frame(s) (all scales, 5 faces): smallest "), lines
    smallest = float(lines[4].split("smallest ")[1].split(" px")[0])
    assert abs(smallest - size) <= 0.3 * size, lines[4]  # detector boxes, not the annotation: within 30 %
    return lines[5], smallest


def test_probe_says_a_wide_camera_shows_faces_too_small_for_its_input(face, tmp_path):
    advice, smallest = probe_clip(face, tmp_path, (1280, 720), 64)  # about 32 px at the input
    assert advice.startswith(f"settings: faces from {smallest:.0f} px: below what detector.input_size 640 sees"), advice
    # the printed size is rounded to a pixel: the advice is for the size within half a pixel of it
    wanted = {input_size_for_face(smallest + d, 1280) for d in (-0.5, 0.5)}
    assert any(f"detector.input_size {n} would see them" in advice for n in wanted), (advice, wanted)


def test_probe_says_fine_where_the_faces_suit_the_input(face, tmp_path):
    advice, _ = probe_clip(face, tmp_path, (640, 360), 96)
    assert advice.endswith(": fine"), advice


def test_probe_says_a_close_camera_needs_a_smaller_input(face, tmp_path):
    advice, _ = probe_clip(face, tmp_path, (240, 240), 230, "--input-size", "1024")  # blown up 4.3x
    assert " above what detector.input_size 1024 sees reliably on a 240x240 frame" in advice, advice
