"""Anchors, decoding and NMS against hand-computed cases."""

import numpy as np

from maskwatch.detect.anchors import box_iou, decode_boxes, decode_landmarks, nms, prior_boxes


def test_priors_order_and_values():
    # 32x64 input (h, w), one level of stride 16 with two sizes: 2 rows x 4 cols x 2 sizes.
    p = prior_boxes(32, 64, (16,), ((16, 32),))
    assert p.shape == (16, 4)
    # First cell (row 0, col 0): centre (8/64, 8/32); size 16 then 32, relative to (w, h).
    np.testing.assert_allclose(p[0], [0.125, 0.25, 0.25, 0.5])
    np.testing.assert_allclose(p[1], [0.125, 0.25, 0.5, 1.0])
    # Next cell is the next column in the same row: centre x = 24/64.
    np.testing.assert_allclose(p[2, :2], [0.375, 0.25])
    # Cell 4 starts row 1: centre y = 24/32.
    np.testing.assert_allclose(p[8, :2], [0.125, 0.75])


def test_priors_use_ceil_for_partial_cells():
    p = prior_boxes(40, 40, (16,), ((16,),))
    assert len(p) == 9  # ceil(40/16) = 3 per side


def test_decode_zero_offsets_gives_prior():
    priors = np.array([[0.5, 0.5, 0.2, 0.4]], np.float32)
    np.testing.assert_allclose(decode_boxes(np.zeros((1, 4), np.float32), priors), [[0.4, 0.3, 0.6, 0.7]], atol=1e-6)


def test_decode_by_hand():
    priors = np.array([[0.5, 0.5, 0.2, 0.4]], np.float32)
    loc = np.array([[1.0, -1.0, np.log(2) / 0.2, 0.0]], np.float32)
    # centre = (0.5 + 1*0.1*0.2, 0.5 - 1*0.1*0.4) = (0.52, 0.46); size = (0.2*2, 0.4) = (0.4, 0.4)
    np.testing.assert_allclose(decode_boxes(loc, priors), [[0.32, 0.26, 0.72, 0.66]], atol=1e-6)


def test_decode_landmarks_by_hand():
    priors = np.array([[0.5, 0.5, 0.2, 0.4]], np.float32)
    pre = np.zeros((1, 10), np.float32)
    pre[0, 0:2] = [1.0, 2.0]
    pts = decode_landmarks(pre, priors)
    assert pts.shape == (1, 5, 2)
    np.testing.assert_allclose(pts[0, 0], [0.52, 0.58], atol=1e-6)
    np.testing.assert_allclose(pts[0, 1], [0.5, 0.5], atol=1e-6)


def test_iou_by_hand():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    # overlap 5x10 = 50, union 150 → 1/3
    np.testing.assert_allclose(box_iou(a, b), [[1 / 3, 0.0, 1.0]], atol=1e-6)


def test_nms_keeps_best_and_separate_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [5, 0, 15, 10]], np.float32)
    scores = np.array([0.8, 0.9, 0.7, 0.6], np.float32)
    # 1 (0.9) suppresses 0 (IoU 9/11 = 0.82) but not 3 (IoU 6/14 = 0.43 > 0.4 → suppressed at 0.4).
    assert nms(boxes, scores, 0.4).tolist() == [1, 2]
    assert nms(boxes, scores, 0.5).tolist() == [1, 2, 3]
    assert nms(boxes[:0], scores[:0], 0.4).tolist() == []
