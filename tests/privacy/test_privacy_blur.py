"""Hiding faces."""

from __future__ import annotations

import numpy as np

from maskwatch.privacy import blur_faces


def test_blur_hides_faces_and_can_keep_the_offender():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (100, 200, 3), np.uint8)
    boxes = [[20, 20, 60, 60], [120, 20, 160, 60]]
    for method in ("pixelate", "gaussian"):
        out = blur_faces(image, boxes, method=method)
        for x1, y1, x2, y2 in boxes:
            assert out[y1:y2, x1:x2].std() < image[y1:y2, x1:x2].std() / 3
        assert np.array_equal(out[80:, :], image[80:, :])  # outside the boxes (with margin) untouched
    kept = blur_faces(image, boxes, keep=1)
    assert np.array_equal(kept[20:60, 120:160], image[20:60, 120:160]) and not np.array_equal(
        kept[20:60, 20:60], image[20:60, 20:60]
    )
