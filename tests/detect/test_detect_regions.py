"""Region planning for live cameras (maskwatch.detect.regions): motion and faces to regions, merging, zones, the
budget, the sweep; and region detection on a real frame (maskwatch.detect.region_detect)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from maskwatch.analysis.analyser import region_settings
from maskwatch.config.detector import DetectorConfig
from maskwatch.core.media import grey_thumbnail
from maskwatch.detect.regions import (
    Region,
    RegionPlanner,
    RegionSettings,
    motion_boxes,
    side_for_face,
    square_around,
    sweep_grid,
    watched_mask,
)

FRAME = (1080, 1920)
NO_FACES = np.zeros((0, 4), np.float32)


def frame_with(boxes: list[tuple[int, int, int, int]], value: int = 200) -> np.ndarray:
    image = np.full((*FRAME, 3), 60, np.uint8)
    for x1, y1, x2, y2 in boxes:
        image[y1:y2, x1:x2] = value
    return image


def no_sweep(**kw) -> RegionSettings:
    """No sweep; regions of 320 px at the input: sides 107 (3x), 160 (2x), 320 (1x), 640 (0.5x)."""
    return RegionSettings(sweep_seconds=0, input_side=320, **kw)


@dataclass
class FakeZone:
    polygon: list[tuple[float, float]]
    ignore: bool = False


def test_motion_becomes_one_region_around_the_blob():
    planner = RegionPlanner(no_sweep())
    assert planner.plan(frame_with([]), 0.0, NO_FACES) == []  # nothing to compare with yet
    regions = planner.plan(frame_with([(1000, 500, 1040, 560)]), 0.2, NO_FACES)
    assert len(regions) == 1
    (region,) = regions
    assert region.kind == "motion"
    x1, y1, x2, y2 = region.box
    assert x1 <= 1000 and y1 <= 500 and x2 >= 1040 and y2 >= 560  # the blob, with its margin, inside
    assert round((x2 - x1) * region.scale) == 320  # every region comes to the detector's input side


def test_a_thumbnail_made_beforehand_plans_the_same_regions():
    planner, ahead = RegionPlanner(no_sweep()), RegionPlanner(no_sweep())
    for at, boxes in ((0.0, []), (0.2, [(1000, 500, 1040, 560)]), (0.4, [(1010, 500, 1050, 560), (90, 80, 120, 130)])):
        image = frame_with(boxes)
        made = grey_thumbnail(image, ahead.settings.thumb_factor)  # as the camera's reader thread makes it
        assert ahead.plan(image, at, NO_FACES, thumb=made) == planner.plan(image, at, NO_FACES)


def test_still_frame_plans_nothing():
    planner = RegionPlanner(no_sweep())
    image = frame_with([(100, 100, 200, 200)])
    planner.plan(image, 0.0, NO_FACES)
    assert planner.plan(image.copy(), 0.2, NO_FACES) == []


def test_large_motion_is_cut_into_squares_of_the_largest_side():
    planner = RegionPlanner(no_sweep(whole_motion=1.0))
    planner.plan(frame_with([]), 0.0, NO_FACES)
    regions = planner.plan(frame_with([(100, 100, 1400, 300)]), 0.2, NO_FACES)
    assert len(regions) >= 3 and {r.side for r in regions} == {640}
    assert min(r.box[0] for r in regions) <= 100 and max(r.box[2] for r in regions) >= 1400


def test_whole_picture_moving_is_one_whole_frame_pass():
    planner = RegionPlanner(no_sweep())
    planner.plan(frame_with([]), 0.0, NO_FACES)
    regions = planner.plan(frame_with([(0, 0, 1500, 1080)]), 0.2, NO_FACES)
    assert [r.kind for r in regions] == ["whole"]
    assert regions[0].box == (0, 0, 1920, 1080) and regions[0].scale == pytest.approx(640 / 1920)


def test_faces_get_regions_at_a_scale_that_suits_them():
    settings = no_sweep()
    assert side_for_face(14, settings) == 107  # at most 3x: a 14 px face becomes 42 px
    assert side_for_face(60, settings) == 144  # 2.4 times the face: it is 133 px at the input
    assert side_for_face(140, settings) == 336
    assert side_for_face(600, settings) == 1280  # at least 0.25x: a face of 600 px becomes 150 px
    planner = RegionPlanner(settings)
    faces = np.array([[500, 500, 514, 516], [1500, 200, 1640, 340]], np.float32)
    regions = planner.plan(frame_with([]), 0.0, faces)
    assert [(r.kind, r.side) for r in regions] == [("face", 107), ("face", 336)]
    assert regions[0].scale == pytest.approx(320 / 107)


def test_face_regions_can_be_smaller_than_the_others_at_the_same_scale():
    settings = replace(no_sweep(), face_input=128)
    assert side_for_face(14, settings) == 43  # 3x, as with 320, in a quarter of the pixels or less
    assert side_for_face(60, settings) == 144  # 53 px at the input
    assert side_for_face(140, settings) == 336
    planner = RegionPlanner(settings)
    faces = np.array([[500, 500, 514, 516]], np.float32)
    (region,) = planner.plan(frame_with([]), 0.0, faces)
    assert region.kind == "face" and region.side == 43 and region.scale * region.side == pytest.approx(128)


def test_the_service_defaults_show_every_tracked_face_of_27_to_320_px_at_80_px_to_the_detector():
    """With regions of five fixed sides, a face boxed at 88 px was shown at 44 px (its region 384 px at 0.5x) and
    missed, boxed at 87 px shown at 87 px and found: it came and went. Faces under 27 px are enlarged 3x, over 320 px
    shrunk 4x."""
    settings = region_settings(DetectorConfig())
    assert settings is not None
    for face in range(10, 700, 2):
        side = side_for_face(face, settings)
        at_input = face * settings.face_input_side / side
        if 27 <= face <= 320:
            assert 79 <= at_input <= 80, (face, side, at_input)
        else:
            assert at_input == pytest.approx(face * (3 if face < 27 else 0.25), rel=0.02), (face, side, at_input)


def test_faces_close_together_share_a_region_and_motion_of_their_people_adds_none():
    planner = RegionPlanner(no_sweep())
    planner.plan(frame_with([]), 0.0, NO_FACES)
    faces = np.array([[700, 400, 716, 416], [730, 410, 746, 426]], np.float32)
    # the two people move: their bodies below the faces change
    regions = planner.plan(frame_with([(690, 420, 760, 480)]), 0.2, faces)
    assert len(regions) == 1 and regions[0].kind == "face"


def test_region_budget_keeps_faces_first():
    planner = RegionPlanner(no_sweep(max_regions=3))
    planner.plan(frame_with([]), 0.0, NO_FACES)
    faces = np.array([[100 + 300 * i, 100, 116 + 300 * i, 116] for i in range(2)], np.float32)
    moving = [(200 + 300 * i, 700, 240 + 300 * i, 760) for i in range(4)]
    regions = planner.plan(frame_with(moving), 0.2, faces)
    assert [r.kind for r in regions] == ["face", "face", "motion"]


def test_regions_stay_inside_the_frame():
    assert square_around((0, 0, 10, 10), 160, FRAME) == (0, 0, 160, 160)
    assert square_around((1910, 1070, 1920, 1080), 160, FRAME) == (1760, 920, 1920, 1080)
    assert square_around((0, 0, 10, 10), 640, (480, 640)) == (0, 0, 480, 480)  # no larger than the frame


def test_zones_leave_out_motion_and_faces_nobody_watches():
    zones = [FakeZone([(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)])]  # the left half only
    planner = RegionPlanner(no_sweep())
    planner.set_zones(zones)
    planner.plan(frame_with([]), 0.0, NO_FACES)
    faces = np.array([[1500, 500, 1516, 516]], np.float32)  # right half
    regions = planner.plan(frame_with([(300, 300, 340, 360), (1400, 300, 1440, 360)]), 0.2, faces)
    assert len(regions) == 1 and regions[0].box[0] < 960


def test_watched_mask_first_zone_wins_and_ignored_zones_are_out():
    zones = [
        FakeZone([(0.0, 0.0), (0.25, 0.0), (0.25, 1.0), (0.0, 1.0)], ignore=True),
        FakeZone([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]),
    ]
    mask = watched_mask(zones, (10, 40))
    assert mask is not None
    assert not mask[:, :9].any() and mask[:, 12:].all()
    assert watched_mask([], (10, 40)) is None


def test_sweep_covers_the_frame_once_per_period_and_cameras_start_apart():
    settings = RegionSettings(sweep_seconds=4.0, sweep_max=4)
    grid = sweep_grid(FRAME, settings.sweep_side, settings.sweep_overlap)
    covered = np.zeros(FRAME, bool)
    for x1, y1, x2, y2 in grid:
        covered[y1:y2, x1:x2] = True
    assert covered.all()
    planner = RegionPlanner(settings)
    frames = [planner.sweep(i * 0.2, FRAME) for i in range(21)]  # 4 s at 5 frames a second
    start_grid = sweep_grid(FRAME, settings.input_side // 2, settings.sweep_overlap)
    assert frames[0][0].kind == "whole"  # the start sweep's whole pass comes first (the finder needs none of its own)
    started = [[r.box for r in regions if r.scale == 2.0] for regions in frames]
    assert [len(boxes) for boxes in started[:5]] == [63, 64, 64, len(start_grid) - 191, 0]
    assert [box for boxes in started for box in boxes] == start_grid  # from the first frame: all of it at 2x
    swept = [r.box for regions in frames for r in regions if r.scale == 1.0]
    assert sorted(swept) == sorted(grid)  # and the sweep at 1x, every square once
    assert sum(r.kind == "whole" for regions in frames for r in regions) == 2  # the start sweep's, the sweep's
    at_once = replace(settings, start_max=1000)  # the start sweep in the first frame
    other = RegionPlanner(at_once, phase=0.5)
    other.sweep(0.0, FRAME)
    first = RegionPlanner(at_once)
    first.sweep(0.0, FRAME)
    assert first.sweep(0.4, FRAME)[0].box != other.sweep(0.4, FRAME)[0].box


def test_motion_boxes_are_in_frame_pixels_largest_first():
    before = np.zeros((270, 480), np.uint8)
    after = before.copy()
    after[10:20, 10:20] = 255
    after[100:160, 200:300] = 255
    boxes = motion_boxes(before, after, FRAME, margin=0)
    assert len(boxes) == 2
    x1, y1, x2, y2 = boxes[0]
    assert x1 <= 800 and x2 >= 1200 and y1 <= 400 and y2 >= 640  # the larger blob, x4 from the thumbnail


@pytest.fixture(scope="module")
def small_face_frame(shared_data):
    """A real unmasked face pasted at 16 px into a 1080p frame (as tests/detect/test_size_sweep.py does)."""
    import cv2

    from maskwatch.data.scene_video import face_patch, size_sweep_frames
    from maskwatch.data.scenes import Photo, still_background
    from maskwatch.evaluate.voc import read_voc_xml

    folder, photo = shared_data / "andrewmvd", "maksssksksss609.jpg"
    if not (folder / "images" / photo).is_file():
        pytest.skip(f"{folder / 'images' / photo} not found (a real face to paste)")
    ann = read_voc_xml(folder / "annotations" / photo.replace(".jpg", ".xml"), folder / "images" / photo)
    patch, box = face_patch(cv2.imread(str(folder / "images" / photo)), ann.boxes[0])
    backdrop = Photo(folder / "images" / "maksssksksss818.jpg", "andrewmvd", [])
    background = still_background(backdrop, (1920, 1080), np.random.default_rng(0))
    ((_, frame, face),) = size_sweep_frames(patch, box, "no_mask", [16], background, centre=(700.0, 600.0))
    return frame, np.asarray(face.box, np.float64)


def test_region_detection_finds_a_small_face_the_whole_frame_misses(small_face_frame):
    """The whole frame at 640 px misses a 16 px face; its 3x region finds it, in frame pixels; a region whose
    inner side cuts the face does not report the cut face."""
    from maskwatch.detect import RetinaFaceDetector
    from maskwatch.detect.anchors import box_iou
    from maskwatch.detect.region_detect import detect_planned

    image, truth = small_face_frame
    detector = RetinaFaceDetector(input_size=640)
    whole = detector.detect(image, 0.5)
    assert len(whole) == 0 or box_iou(truth[None], whole.xyxy.astype(np.float64)).max() < 0.3
    square = square_around(truth, 107, FRAME)
    (found,) = detect_planned(detector, [(image, [Region(square, 320 / 107, "face")])], 0.5)
    assert len(found) == 1
    assert box_iou(truth[None], found.xyxy.astype(np.float64)).max() >= 0.4
    cut_x = int((truth[0] + truth[2]) / 2)  # the region's right side through the middle of the face
    cut = (cut_x - 107, square[1], cut_x, square[3])
    (half,) = detect_planned(detector, [(image, [Region(cut, 320 / 107, "face")])], 0.5)
    assert len(half) == 0


def test_whole_frame_pass_leaves_regions_only_to_faces_too_small_for_it():
    """A person walking close to the camera moves a third of the frame: the faces too small for the whole-frame pass
    keep their regions (a 34-px face of a VAL clip was lost for 18 s without), the others none."""
    planner = RegionPlanner(no_sweep())
    planner.plan(frame_with([]), 0.0, NO_FACES)
    faces = np.array([[100, 100, 300, 300], [1000, 900, 1020, 934]], np.float32)  # 200 px: 67 px in the whole pass
    regions = planner.plan(frame_with([(0, 0, 800, 800)]), 0.2, faces)  # 34 px: 11 px there
    assert [(r.kind, r.side) for r in regions] == [("face", 107), ("whole", 1920)]
    planner = RegionPlanner(no_sweep(whole_sees=0))
    planner.plan(frame_with([]), 0.0, NO_FACES)
    assert [r.kind for r in planner.plan(frame_with([(0, 0, 800, 800)]), 0.2, faces)] == ["whole"]


def test_a_new_frame_size_starts_the_start_sweep_again():
    """A camera whose frame size changes (another stream, a new resolution) is swept at 2x again."""
    settings = RegionSettings(sweep_seconds=4.0, start_max=1000)
    planner = RegionPlanner(settings)
    small = (720, 1280)
    for start, shape in ((0.0, FRAME), (0.4, small)):
        steps = len(sweep_grid(shape, settings.input_side // 2, settings.sweep_overlap)) + 1
        image = np.zeros((*shape, 3), np.uint8)
        assert len(planner.plan(image, start, NO_FACES)) == steps
        assert len(planner.plan(image, start + 0.2, NO_FACES)) <= settings.sweep_max


def test_a_camera_that_falls_behind_sweeps_slower_instead_of_piling_up_work():
    planner = RegionPlanner(RegionSettings(sweep_seconds=4.0, sweep_max=2, start_max=1000))
    planner.sweep(0.0, FRAME)
    assert len(planner.sweep(3.0, FRAME)) == 2  # 3 s late: 30 squares due, two taken
    assert len(planner.sweep(3.1, FRAME)) <= 2
