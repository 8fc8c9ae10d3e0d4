"""Every face size by default: one real face pasted at 12 to 512 px into 1080p and 320x240 frames is found by
`maskwatch predict` with its defaults; a face across a tile edge is one face; a large face gets one box."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from maskwatch.data.scene_video import size_sweep_frames
from maskwatch.data.scenes import still_background
from maskwatch.detect import MultiScaleDetector, RetinaFaceDetector
from maskwatch.detect.anchors import box_iou
from maskwatch.detect.scales import plan_scales
from maskwatch.detect.tiling import detect_regions

SIZES = (12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
FRAMES = ((1920, 1080), (320, 240))
FOUND_SCORE = 0.5  # as the compliance view: a face reported at score >= 0.5
FOUND_IOU = 0.5


@pytest.fixture(scope="module")
def face(sweep_face):
    return sweep_face


def sweep(face, frame_size):
    patch, box, backdrop = face
    background = still_background(backdrop, frame_size, np.random.default_rng(0))
    return size_sweep_frames(patch, box, "no_mask", SIZES, background)


def test_size_sweep_every_size_found_by_predict_defaults(face, tmp_path, classifier_model):
    folder = tmp_path / "sweep"
    folder.mkdir()
    truth = {}
    for width, height in FRAMES:
        for size, frame, f in sweep(face, (width, height)):
            name = f"sweep_{width}x{height}_{size:03d}.png"
            cv2.imwrite(str(folder / name), frame)
            truth[name] = f.box
    assert sum(n.startswith("sweep_1920") for n in truth) == len(SIZES)  # every size fits a 1080p frame
    assert sorted(int(n[-7:-4]) for n in truth if n.startswith("sweep_320")) == [s for s in SIZES if s <= 240]

    out = tmp_path / "preds.json"
    proc = subprocess.run(
        [sys.executable, "-m", "maskwatch", "predict", str(folder), "-o", str(out)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    preds = json.loads(out.read_text())
    missed, doubled = [], []
    for name, box in truth.items():
        confident = np.array([p["box"] for p in preds[name] if p["score"] >= FOUND_SCORE]).reshape(-1, 4)
        iou = box_iou(box, confident)[0] if len(confident) else np.zeros(0)
        if not (iou >= FOUND_IOU).any():
            missed.append((name, [round(float(v), 2) for v in iou]))
        if (iou > 0).sum() > 1:
            doubled.append(name)
    assert not missed, f"not found at score >= {FOUND_SCORE}, IoU >= {FOUND_IOU}: {missed}"
    assert not doubled, f"one face reported twice: {doubled}"


@pytest.fixture(scope="module")
def detector():
    return RetinaFaceDetector(min_score=0.3, threads=1)


def _overlapping(dets, box, min_score):
    keep = dets.det_scores >= min_score
    return dets.xyxy[keep][box_iou(box, dets.xyxy[keep])[0] > 0] if keep.any() else np.zeros((0, 4))


def test_face_across_a_tile_edge_is_one_face(face, detector):
    patch, box, backdrop = face
    background = still_background(backdrop, (1920, 1080), np.random.default_rng(1))
    top = plan_scales(1080, 1920)[-1]
    assert top.tiled
    edge_x = float(top.regions[0][2])  # the right side of the first tile, inside the frame
    size = 56  # 140 px at the top scale: smaller than the tiles' overlap, so one tile holds it whole
    # three quarters of it inside the first tile, so that tile finds its cut view too
    centre = (edge_x - size / 4, 300.0)
    ((_, frame, f),) = size_sweep_frames(patch, box, "no_mask", [size], background, centre=centre)
    assert f.box[0] < edge_x < f.box[2]
    # the tiles themselves see it twice: whole in one, cut in the other
    crops = [frame[y1:y2, x1:x2] for x1, y1, x2, y2 in top.regions]
    per_tile = detector.detect_scaled(crops, top.scale, 0.3)
    seen = sum(
        len(_overlapping(d, f.box - [x1, y1, x1, y1], 0.3)) > 0
        for d, (x1, y1, _, _) in zip(per_tile, top.regions, strict=True)
    )
    assert seen >= 2
    # the tiled pass alone keeps one of them, and the whole detector reports one face
    tiled = detect_regions(detector, frame, top.regions, top.scale, 0.3)
    for dets in (tiled, MultiScaleDetector(detector).detect(frame, 0.3)):
        found = _overlapping(dets, f.box, 0.3)
        assert len(found) == 1, found
        assert box_iou(f.box, found)[0, 0] >= 0.5


@pytest.mark.parametrize(("frame_size", "size"), [((1920, 1080), 512), ((1920, 1080), 300), ((240, 240), 200)])
def test_large_face_gets_one_box(face, detector, frame_size, size):
    patch, box, backdrop = face
    background = still_background(backdrop, frame_size, np.random.default_rng(2))
    ((_, frame, f),) = size_sweep_frames(patch, box, "no_mask", [size], background)
    found = _overlapping(MultiScaleDetector(detector).detect(frame, 0.3), f.box, 0.3)
    assert len(found) == 1, found
    assert box_iou(f.box, found)[0, 0] >= 0.5
