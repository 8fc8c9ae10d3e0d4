"""Test scenes from the real VOC photos: wide frames, close-ups and clips, with ground truth that fits them."""

import csv
import itertools
import json

import cv2
import numpy as np
import pytest

from maskwatch.data.scene_video import (
    FEATHER,
    SPEED,
    cut_by_photo,
    faceless_background,
    faded,
    make_scene_video,
    person_cutout,
    read_video_truth,
    render_walkers,
    walkers,
)
from maskwatch.data.scenes import CLOSE_SIDE, WIDE_SIZE, Face, Photo, build_scenes, split_photos, still_background
from maskwatch.evaluate.voc import read_voc_folder, score_predictions

STREET = [
    "maksssksksss114.jpg",
    "maksssksksss125.jpg",
    "maksssksksss132.jpg",
    "maksssksksss182.jpg",
    "maksssksksss1.jpg",
    "maksssksksss609.jpg",
    "maksssksksss818.jpg",
]


@pytest.fixture(scope="module")
def manifest(shared_data, tmp_path_factory):
    """A manifest of a handful of street and web photos: the first street ones val, the rest train."""
    web = sorted((shared_data / "jolignier" / "images").iterdir())[:6]
    if not web:
        pytest.skip("no jolignier photos in the shared data")
    rows = [(shared_data / "andrewmvd" / "images" / n, "val" if i < 4 else "train") for i, n in enumerate(STREET)]
    rows += [(p, "val" if i < 3 else "train") for i, p in enumerate(web)]
    path = tmp_path_factory.mktemp("manifest") / "manifest.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "split"])
        writer.writerows((str(p), s) for p, s in rows)
    return path


def _as_predictions(annotations):
    return {
        a.name: [{"box": b.tolist(), "label": lab, "score": 1.0} for b, lab in zip(a.boxes, a.labels, strict=True)]
        for a in annotations
    }


def test_wide_and_close_scenes_are_voc_folders_that_score(shared_data, manifest, tmp_path):
    counts = build_scenes(shared_data, manifest, tmp_path / "a", splits=("val",), seed=3)
    assert counts["wide-val"] >= 2 and counts["close-val"] >= 1  # one source per frame: two sources, two frames
    wide = read_voc_folder(tmp_path / "a" / "wide-val")
    photos = split_photos(shared_data, manifest, "val")
    assert sum(len(a.boxes) for a in wide) == sum(len(p.faces) for p in photos)  # every face, once
    for ann in wide:
        image = cv2.imread(ann.path)
        assert image.shape[:2] == (WIDE_SIZE[1], WIDE_SIZE[0])
        assert (
            (ann.boxes >= 0).all()
            and (ann.boxes[:, 2] <= WIDE_SIZE[0]).all()
            and (ann.boxes[:, 3] <= WIDE_SIZE[1]).all()
        )
    close = read_voc_folder(tmp_path / "a" / "close-val")
    for ann in close:
        assert cv2.imread(ann.path).shape[:2] == (CLOSE_SIDE, CLOSE_SIDE)
        sides = (ann.boxes[:, 2:] - ann.boxes[:, :2]).max(axis=1)
        assert sides.max() >= 0.5 * CLOSE_SIDE  # one face fills most of the frame
    for annotations in (wide, close):  # the ground truth scored against itself: all found, nothing else
        result = score_predictions(_as_predictions(annotations), annotations)
        assert result.face_ap == pytest.approx(1.0)


def test_scenes_are_deterministic(shared_data, manifest, tmp_path):
    for name in ("a", "b"):
        build_scenes(shared_data, manifest, tmp_path / name, splits=("train",), kinds=("wide",), seed=1)
    first = sorted((tmp_path / "a" / "wide-train").rglob("*.*"))
    assert first
    for path in first:
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes(), path.name


def test_background_hides_the_faces_it_was_made_from(shared_data, manifest):
    from maskwatch.detect import RetinaFaceDetector

    photos = split_photos(shared_data, manifest, "train")
    detector = RetinaFaceDetector(input_size=1920, min_score=0.5, threads=1)
    for k, photo in enumerate(photos[:4]):
        background = still_background(photo, WIDE_SIZE, np.random.default_rng(k))
        assert len(detector.detect(background)) == 0, photo.path.name


def test_scene_video_is_h264_1080p_with_truth_per_frame(shared_data, manifest, tmp_path):
    photos = split_photos(shared_data, manifest, "val")
    video, truth_path = make_scene_video(photos, tmp_path / "clip", seconds=1.0, people=4, seed=2)
    truth = read_video_truth(truth_path)
    assert sorted(truth) == [f"clip_f{i:06d}" for i in range(15)]
    cap = cv2.VideoCapture(str(video))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(15)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 15 and frames[0].shape == (WIDE_SIZE[1], WIDE_SIZE[0], 3)
    # the people move (slowly), and the faces sit where the truth says: the decoded frame matches the rendered one
    rng = np.random.default_rng(2)
    cast = walkers(photos, 4, WIDE_SIZE, rng, 15)
    background = faceless_background(photos, WIDE_SIZE, rng)
    for index in (0, 14):
        rendered, faces = render_walkers(background, cast, index)
        assert [f.box.round(1).tolist() for f in faces] == [t["box"] for t in truth[f"clip_f{index:06d}"]]
        error = np.abs(rendered.astype(np.float32) - frames[index].astype(np.float32)).mean()
        assert error < 4.0
    moved = [
        np.abs(np.array(a["box"]) - np.array(b["box"])).max()
        for a, b in zip(truth["clip_f000000"], truth["clip_f000014"], strict=True)
    ]
    assert 0 < max(moved) <= 14 * SPEED[1] + 1
    assert json.loads(truth_path.read_text()) == truth


def test_people_cross_once_and_others_follow_in_their_lane(shared_data, manifest):
    photos = split_photos(shared_data, manifest, "val")
    frames = 60 * 15
    cast = walkers(photos, 4, WIDE_SIZE, np.random.default_rng(0), frames)
    lanes = {w.y for w in cast}
    assert 2 <= len(lanes) <= 4 and len(cast) > 2 * len(lanes)  # more people than lanes over a minute
    photo_faces = [tuple(w.faces[0].box.round(1)) + w.patch.shape for w in cast]
    assert len(set(photo_faces)) == len(cast)  # each person once
    for lane in lanes:
        people = sorted((w for w in cast if w.y == lane), key=lambda w: w.start)
        for a, b in itertools.pairwise(people):
            assert b.start >= a.start + a.crossing_frames(WIDE_SIZE[0])  # one at a time: never overlapping
            assert b.patch.shape[0] <= people[0].patch.shape[0]  # no taller than the lane
    on_screen = [sum(w.x_at(i, WIDE_SIZE[0]) is not None for w in cast) for i in range(frames)]
    assert on_screen[0] == len(lanes) and max(on_screen) <= len(lanes)


def test_a_face_the_cutouts_feather_fades_is_difficult():
    alpha = np.ones((100, 80), np.float32)
    alpha[:FEATHER] = alpha[-FEATHER:] = alpha[:, :FEATHER] = alpha[:, -FEATHER:] = 0.1
    assert not faded(alpha, np.array([20.0, 20.0, 60.0, 60.0]))  # well inside
    assert faded(alpha, np.array([0.0, 86.0, 12.0, 100.0]))  # a small face in the faded corner
    assert not faded(alpha, np.array([0.0, 20.0, 60.0, 80.0]))  # a large face with a faded edge


def test_a_face_its_photos_edge_cuts_is_difficult():
    width, height = 400, 300
    assert cut_by_photo(np.array([0.0, 100.0, 18.0, 149.0]), width, height)  # half a face at the left edge
    assert cut_by_photo(np.array([380.0, 100.0, 400.0, 150.0]), width, height)  # and at the right
    assert cut_by_photo(np.array([100.0, 0.0, 154.0, 38.0]), width, height)  # its top cut off
    assert not cut_by_photo(np.array([100.0, 0.0, 140.0, 48.0]), width, height)  # whole, its hair at the edge
    assert not cut_by_photo(np.array([0.0, 100.0, 40.0, 150.0]), width, height)  # whole, at the side
    assert not cut_by_photo(np.array([100.0, 100.0, 110.0, 150.0]), width, height)  # narrow, but inside


def test_a_walker_carries_a_cut_face_as_difficult(tmp_path):
    image = np.full((300, 400, 3), 128, np.uint8)
    whole = Face(np.array([40.0, 60.0, 80.0, 110.0]), "no_mask")
    cut = Face(np.array([0.0, 60.0, 18.0, 110.0]), "mask")  # half a face, boxed where the photo ends
    photo = Photo(tmp_path / "photo.jpg", "andrewmvd", [whole, cut])
    _, faces = person_cutout(image, photo, 0)
    assert {f.label: f.difficult for f in faces} == {"no_mask": False, "mask": True}
    _, faces = person_cutout(image, photo, 1)
    assert [f.difficult for f in faces if f.label == "mask"] == [True]


def test_scenes_cli_bad_input_is_one_line(tmp_path, shared_data, manifest):
    import subprocess
    import sys

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "maskwatch", "data", "scenes", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    for args in (
        (tmp_path / "nowhere", "--manifest", manifest, "--out", tmp_path / "o"),
        (shared_data, "--manifest", tmp_path / "missing.csv", "--out", tmp_path / "o"),
        (shared_data, "--manifest", manifest, "--kind", "panorama", "--out", tmp_path / "o"),
        (shared_data, "--manifest", manifest, "--split", "test", "--out", tmp_path / "o"),
    ):
        proc = run(*args)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
