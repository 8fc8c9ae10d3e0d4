"""Scale planning and tile ownership: which passes an image gets, and that tiles cover it and share out its faces."""

from itertools import pairwise

import numpy as np
import pytest

from maskwatch.core.detections import Detections
from maskwatch.detect.scales import ScaleSettings, fixed_scale, level_scales, plan_scales, tile_grid
from maskwatch.detect.tiling import merge_detections, owned_by

SETTINGS = ScaleSettings()
SMALLEST_FOUND_IN = 20  # px at the detector's input: about the smallest face RetinaFace finds reliably


def _check_tiles(height: int, width: int, p) -> None:
    regions = p.regions
    sizes = {(x2 - x1, y2 - y1) for x1, y1, x2, y2 in regions}
    assert len(sizes) == 1, "all tiles of a pass share one size (one batch)"
    h_in, w_in = p.input_shape
    assert max(h_in, w_in) <= SETTINGS.tile_in + 1
    covered = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in regions:
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        covered[y1:y2, x1:x2] = True
    assert covered.all(), "the tiles cover the whole image"
    if p.tiled:  # neighbours overlap by at least overlap_in at the input
        for axis in (0, 1):
            starts = sorted({int(r[axis]) for r in regions})
            side = int(regions[0][axis + 2] - regions[0][axis])
            for a, b in pairwise(starts):
                assert (a + side - b) * p.scale >= SETTINGS.overlap_in - 1


def _check_levels_meet(passes) -> None:
    """Each finer, tiled level sees faces whole up to overlap_in at its input; the next coarser one must find
    faces from that size down."""
    for coarse, fine in pairwise(passes):
        largest_whole_in_fine = SETTINGS.overlap_in / fine.scale if fine.tiled else np.inf
        assert SMALLEST_FOUND_IN / coarse.scale <= largest_whole_in_fine


def test_close_up_240_is_not_blown_up():
    passes = plan_scales(240, 240)
    whole = passes[0]
    assert not any(p.tiled for p in passes)
    # a face filling the 240-px frame stays within the detector's anchors (16-512 px) in the whole-image pass
    assert 240 * whole.scale <= 512
    # no pass blows it up as the old default did (1024 px: 4.3x); small faces are still looked for
    assert max(p.scale for p in passes) == pytest.approx(SETTINGS.top_scale) and SETTINGS.top_scale <= 2.5


def test_street_photo_400px_keeps_its_fine_scale():
    passes = plan_scales(300, 400)
    assert [p.tiled for p in passes] == [False, False]  # 1000 x 750 at the top scale: one region, no tile edges
    assert passes[-1].scale == pytest.approx(SETTINGS.top_scale)  # about the old default (1024 px = 2.56x)
    assert 300 * passes[0].scale <= SETTINGS.largest_face_in


@pytest.mark.parametrize(("height", "width"), [(1080, 1920), (2160, 3840), (1920, 1080)])
def test_large_frames_are_tiled_and_covered(height, width):
    passes = plan_scales(height, width)
    assert passes[0].scale * min(height, width) <= SETTINGS.largest_face_in + 1
    assert not passes[0].tiled
    assert passes[-1].scale == pytest.approx(SETTINGS.top_scale)
    assert passes[-1].tiled
    for p in passes:
        _check_tiles(height, width, p)
    _check_levels_meet(passes)
    scales = [p.scale for p in passes]
    assert scales == sorted(scales)


def test_4k_tiles_are_no_bigger_than_needed():
    top = plan_scales(2160, 3840)[-1]
    h_in, w_in = top.input_shape
    n = len(top.regions)
    # the tiles' input pixels exceed the scaled image by no more than the overlaps need
    assert n * h_in * w_in < 1.35 * (2160 * 3840 * top.scale**2)


def test_fixed_scale_is_one_pass():
    (p,) = fixed_scale(1080, 1920, 1024)
    assert p.scale == pytest.approx(1024 / 1920) and not p.tiled


def test_tiny_image_gets_one_pass():
    assert len(level_scales(64, 64)) == 1


def test_tile_grid_single_region_when_it_fits():
    assert tile_grid(300, 400, 2.5, 1536, 192).tolist() == [[0, 0, 400, 300]]


def _dets(boxes, scores):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(boxes, np.asarray(scores, np.float32), np.zeros((len(boxes), 5, 2), np.float32))


def test_a_face_in_two_tiles_belongs_to_one():
    regions = np.array([[0, 0, 100, 100], [80, 0, 180, 100]])
    # the face [84, 40, 96, 52] is whole in both tiles: exactly one of them keeps it
    face = np.array([[84, 40, 96, 52]], np.float32)
    assert owned_by(face, regions, 0, (100, 180)).sum() + owned_by(face, regions, 1, (100, 180)).sum() == 1
    # a face cut by tile 0's right edge (its view there ends at 100) belongs to tile 1, where it is whole
    cut_view = np.array([[92, 40, 100, 56]], np.float32)
    whole = np.array([[92, 40, 108, 56]], np.float32)
    assert not owned_by(cut_view, regions, 0, (100, 180))[0]
    assert owned_by(whole, regions, 1, (100, 180))[0]


def test_frame_border_is_not_a_tile_edge():
    regions = np.array([[0, 0, 100, 100], [80, 0, 180, 100]])
    at_left_border = np.array([[0, 10, 12, 22]], np.float32)
    assert owned_by(at_left_border, regions, 0, (100, 180))[0]


def test_merge_drops_overlaps_and_parts_of_larger_faces():
    big = _dets([[100, 100, 300, 300]], [0.9])
    same = _dets([[105, 102, 298, 305]], [0.8])
    part = _dets([[150, 150, 200, 200]], [0.6])  # an eye region found again at a finer scale: inside the big face
    apart = _dets([[400, 100, 430, 130]], [0.7])
    merged = merge_detections([big, same, part, apart])
    assert merged.xyxy.round().astype(int).tolist() == [[100, 100, 300, 300], [400, 100, 430, 130]]


def test_merge_keeps_one_of_nested_boxes_whichever_scores_higher():
    merged = merge_detections([_dets([[100, 100, 300, 300]], [0.5]), _dets([[150, 150, 200, 200]], [0.9])])
    assert merged.xyxy.round().astype(int).tolist() == [[150, 150, 200, 200]]
