"""The face an alert is about, marked on its snapshot: outlined in its label's colour and labelled, still hidden;
every other face dimmed. Checked on the pixels of the written JPEG."""

from __future__ import annotations

import time

import cv2
import numpy as np

from helpers_service.pixels import off_red, outline_pixels, outline_thickness, region
from maskwatch.core.draw import grown
from maskwatch.events import SnapshotWriter
from maskwatch.privacy import MARGIN


def test_snapshot_outlines_and_labels_the_offender_and_dims_the_others(tmp_path, test_clip):
    from maskwatch.detect import RetinaFaceDetector

    detector = RetinaFaceDetector(input_size=1024, min_score=0.5)
    ok, frame = cv2.VideoCapture(str(test_clip)).read()
    faces = detector.detect(frame, min_score=0.3)
    assert ok and len(faces) >= 2
    offender, other = int(np.argmin(faces.xyxy[:, 0])), int(np.argmax(faces.xyxy[:, 0]))  # left, right
    writer = SnapshotWriter(tmp_path)
    plain = cv2.imread(str(writer.resolve(writer.write(frame, faces.xyxy, offender, "cam", 3, time.time()))))
    rel = writer.write(frame, faces.xyxy, offender, "cam", 4, time.time(), "no_mask", 0.97)
    marked = cv2.imread(str(writer.resolve(rel)))
    ring = outline_pixels(marked, faces.xyxy[offender])
    assert np.median(off_red(ring)) < 40 and np.mean(off_red(ring) < 60) > 0.9, np.median(ring, axis=0)
    assert np.median(off_red(outline_pixels(plain, faces.xyxy[offender]))) > 60  # not there without the label
    # the offender's face is as hidden as before (not dimmed, not shown); the other face is dimmed
    assert abs(region(marked, faces.xyxy[offender]).mean() - region(plain, faces.xyxy[offender]).mean()) < 6
    assert region(marked, faces.xyxy[other]).mean() < 0.5 * region(plain, faces.xyxy[other]).mean()
    assert len(detector.detect(marked)) == 0  # no face can be found in it
    # the label sits above the outline, or below it where the frame has no room above: red, with white text
    x1, y1, _, y2 = grown(faces.xyxy[offender], MARGIN, frame.shape[1], frame.shape[0])
    t = outline_thickness(frame)
    above = marked[max(0, y1 - 2 * t - 14) : max(0, y1 - 2 * t), x1 : x1 + 60].astype(np.float32)
    below = marked[y2 + 2 * t : y2 + 2 * t + 14, x1 : x1 + 60].astype(np.float32)
    label = max((above, below), key=lambda part: np.mean(off_red(part) < 60) if part.size else 0)
    assert np.mean(off_red(label) < 60) > 0.4 and (label.min(axis=2) > 200).sum() > 20
