"""Labels drawn on faces stay readable: sized by the frame rather than the face, and never covering each other."""

from __future__ import annotations

import numpy as np

from maskwatch.core.detections import Detections
from maskwatch.core.draw import LabelPlacer, _overlap, draw_detections, text_size


def small_faces(n: int, size: float, step: float, y: float = 300.0) -> Detections:
    x = 100 + step * np.arange(n, dtype=np.float32)
    boxes = np.stack([x, np.full(n, y), x + size, np.full(n, y + size)], axis=1).astype(np.float32)
    probs = np.tile(np.float32([0.1, 0.8, 0.1]), (n, 1))
    return Detections(boxes, np.full(n, 0.9, np.float32), None, probs, np.arange(n))


def test_labels_of_a_row_of_small_faces_do_not_cover_each_other():
    image = np.zeros((1080, 1920, 3), np.uint8)
    faces = small_faces(12, size=18, step=24)  # 18-px faces, 6 px apart: far narrower than their labels
    placer = LabelPlacer(image, faces.xyxy)
    drawn = [placer.draw("#12 no mask 0.93", box, (40, 40, 230), short="0.93") for box in faces.xyxy]
    rects = placer.placed
    assert len(rects) == sum(drawn) >= 6  # where no spot is free the box's colour alone gives the label
    assert not any(_overlap(r, f, gap=0) for r in rects for f in faces.xyxy)  # no label covers a face
    assert not any(_overlap(a, b, gap=0) for i, a in enumerate(rects) for b in rects[i + 1 :])
    assert all(0 <= x1 < x2 <= 1920 and 0 <= y1 < y2 <= 1080 for x1, y1, x2, y2 in rects)
    assert min(y2 - y1 for _, y1, _, y2 in rects) >= 22  # text about 20 px high at 1080p, whatever the face size
    assert text_size(np.zeros((360, 640, 3), np.uint8))[0] < text_size(image)[0]


def test_draw_detections_keeps_the_faces_and_draws_every_label():
    image = np.zeros((540, 960, 3), np.uint8)
    out = draw_detections(image, small_faces(5, size=14, step=20, y=5))  # at the top edge: labels go below
    assert out.shape == image.shape and not image.any()  # a copy
    assert (out[:, :, 2] > 200).sum() > 5 * 200  # five red label boxes drawn, not stacked into one
