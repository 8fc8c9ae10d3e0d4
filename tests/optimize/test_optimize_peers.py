"""The AIZOO peer's anchors and SSD decoding (benchmarks/_peers/aizoo.py), checked by hand; no peer venv needed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "_peers"))
from aizoo import anchors, decode


def test_anchor_count_order_and_shapes():
    a = anchors()
    assert a.shape == (5972, 4)  # (33² + 17² + 9² + 5² + 3²) cells x 4 anchors, as the model's outputs
    # first cell of the 33x33 map: centre (0.5/33, 0.5/33); sizes 0.04, 0.056 at ratio 1, then 0.04 at 0.62 and 0.42
    c = 0.5 / 33
    w0, w1 = 0.04, 0.056
    np.testing.assert_allclose(a[0], [c - w0 / 2, c - w0 / 2, c + w0 / 2, c + w0 / 2], atol=1e-6)
    np.testing.assert_allclose(a[1], [c - w1 / 2, c - w1 / 2, c + w1 / 2, c + w1 / 2], atol=1e-6)
    w, h = 0.04 * np.sqrt(0.62), 0.04 / np.sqrt(0.62)
    np.testing.assert_allclose(a[2], [c - w / 2, c - h / 2, c + w / 2, c + h / 2], atol=1e-6)
    # the next cell moves along x first (row-major)
    np.testing.assert_allclose((a[4, 0] + a[4, 2]) / 2, 1.5 / 33, atol=1e-6)
    np.testing.assert_allclose((a[4, 1] + a[4, 3]) / 2, 0.5 / 33, atol=1e-6)
    # the last map is 3x3 with sizes 0.64, 0.72: its last anchor is centred at (2.5/3, 2.5/3)
    np.testing.assert_allclose((a[-1, :2] + a[-1, 2:]) / 2, [2.5 / 3, 2.5 / 3], atol=1e-6)


def test_decode_with_variances():
    prior = np.array([[0.4, 0.4, 0.6, 0.6]], np.float32)  # centre 0.5, size 0.2
    np.testing.assert_allclose(decode(np.zeros((1, 4), np.float32), prior), prior, atol=1e-6)
    # dx = 1 moves the centre by 0.1 * width; dw = 1 scales the width by exp(0.2)
    out = decode(np.array([[1, 0, 1, 0]], np.float32), prior)[0]
    w = 0.2 * np.exp(0.2)
    np.testing.assert_allclose(out, [0.52 - w / 2, 0.4, 0.52 + w / 2, 0.6], atol=1e-6)
