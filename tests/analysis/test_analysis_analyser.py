"""One camera's analysis on its own: no service, store, sinks or web; a video's frames fed with the video's own
times, one call at a time (as `maskwatch detect VIDEO --json` is to use it)."""

from __future__ import annotations

import cv2
import numpy as np

from maskwatch.analysis import CameraAnalyser, RaisedAlert, find_faces
from maskwatch.config import AppConfig
from maskwatch.sources import Frame

DOOR = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
HALL = [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]


def video_frames(path, fps: float = 10.0) -> list[Frame]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(Frame(image, len(frames) + 1, len(frames) / fps))  # the video's time, from 0
    cap.release()
    return frames


def door_config(**rules) -> AppConfig:
    zones = [
        {"name": "door", "polygon": DOOR, "restricted": True},
        {"name": "hall", "polygon": HALL, "restricted": False},
    ]
    return AppConfig.model_validate(
        {
            "cameras": [{"name": "door-cam", "source": "video.mp4", "fps": 10, "zones": zones}],
            "rules": {"min_seconds": 0.5, "cooldown_seconds": 60, **rules},
        }
    )


class Collected:
    def __init__(self, refuse_first: int = 0):
        self.alerts: list[RaisedAlert] = []
        self.seen: list = []
        self.clip_frames: list = []
        self.refuse = refuse_first

    def alert(self, raised: RaisedAlert) -> None:
        if self.refuse:
            self.refuse -= 1
            raise OSError("disk full")
        self.alerts.append(raised)

    def sightings(self, sightings) -> None:
        self.seen += sightings

    def clip_frame(self, camera, at, image) -> None:
        self.clip_frames.append((camera, at, image.shape))


def test_a_video_through_one_analyser_in_its_own_time(pipeline, test_clip):
    cfg = door_config()
    out = Collected()
    analyser = CameraAnalyser(cfg.camera("door-cam"), cfg, pipeline, out, clips=True)
    results = [analyser.process(frame) for frame in video_frames(test_clip)]
    assert len(results) == 40 and [r.time for r in results[:3]] == [0.0, 0.1, 0.2]
    # two faces in every frame, tracked: the left one keeps one track through the first segment
    assert all(len(r.faces) == 2 for r in results), [len(r.faces) for r in results]
    left = [r.faces.track_ids[np.argmin(r.faces.xyxy[:, 0])] for r in results[3:20]]
    assert len(set(left)) == 1 and left[0] >= 0
    # the unmasked face in the door alerts once (cooldown 60 s), after holding its label 0.5 s of video time
    (raised,) = out.alerts
    a = raised.alert
    assert (a.camera, a.zone, a.label) == ("door-cam", "door", "no_mask") and 0.5 <= a.time < 2.0
    assert raised.image.shape == (360, 640, 3) and len(raised.hidden) >= 2
    assert [r.alerts for r in results if r.alerts] == [[a]] and analyser.alerts_raised == 1
    # people counted once each, with their zone; the hall is counted but never alerts
    assert {(s.zone, s.label) for s in out.seen} >= {("door", "no_mask"), ("hall", "no_mask")}
    assert all(s.people in (1, -1) and 0 <= s.time < 4 for s in out.seen)
    # clip frames rendered at clips.width (here the frame's own 640)
    assert len(out.clip_frames) == 40 and out.clip_frames[0] == ("door-cam", 0.0, (360, 640, 3))
    assert analyser.frames_analysed == 40 and analyser.frames_detected <= 40


def test_the_detection_step_is_a_seam_that_batches_cameras(pipeline, test_clip):
    """find_faces: one detector call for the frames of two analysers, the same faces as each on its own."""
    cfg = door_config()
    frames = video_frames(test_clip)[:5]
    alone = CameraAnalyser(cfg.camera("door-cam"), cfg, pipeline)
    a, b = (CameraAnalyser(cfg.camera("door-cam"), cfg, pipeline) for _ in range(2))
    for frame in frames:
        expected = alone.find_faces(frame)
        found_a, found_b = find_faces([(a.finder, frame), (b.finder, frame)], pipeline)
        np.testing.assert_allclose(found_a.xyxy, expected.xyxy, atol=1e-3)
        np.testing.assert_allclose(found_b.class_probs, expected.class_probs, atol=1e-4)
        assert len(a.analyse(frame, found_a).faces) == len(expected)


def test_a_still_frame_keeps_its_faces_without_the_detector(pipeline, test_clip):
    """Whole-frame detection (detector.regions off): a frame that has not moved is not detected again."""
    cfg = door_config()
    cfg.detector.motion_threshold, cfg.detector.redetect_seconds = 0.01, 1.0
    cfg.detector.regions = False
    first = video_frames(test_clip)[0]
    analyser = CameraAnalyser(cfg.camera("door-cam"), cfg, pipeline)
    results = [analyser.process(Frame(first.image, i + 1, i * 0.1)) for i in range(15)]  # 1.5 s of the same picture
    assert [r.detected for r in results] == [True] + [False] * 9 + [True] + [False] * 4  # again after 1 s
    assert all(len(r.faces) == 2 for r in results) and analyser.frames_detected == 2


def test_regions_on_a_still_frame_detect_only_the_sweep_and_the_faces_once_a_second(pipeline, test_clip):
    """Regions (the default): on a still picture the faces found hold between their refreshes (every
    redetect_seconds) and the sweep; no motion regions."""
    cfg = door_config()
    cfg.detector.redetect_seconds, cfg.detector.region_sweep_seconds = 1.0, 0.0
    cfg.detector.input_size = 320  # regions serve frames larger than the whole pass's input (this clip's are 640 px)
    first = video_frames(test_clip)[0]
    analyser = CameraAnalyser(cfg.camera("door-cam"), cfg, pipeline)
    results = [analyser.process(Frame(first.image, i + 1, i * 0.1)) for i in range(15)]
    assert [r.detected for r in results] == [True] + [False] * 9 + [True] + [False] * 4  # again after 1 s
    assert all(len(r.faces) == 2 for r in results)
    assert analyser.finder.regions_detected == 1 + 2  # the first frame whole, then each face's region


def test_an_alert_the_output_cannot_keep_is_raised_again(pipeline, test_clip):
    """The cooldown does not silence a person whose alert was not kept: the next frame raises it again."""
    cfg = door_config()
    out = Collected(refuse_first=1)
    analyser = CameraAnalyser(cfg.camera("door-cam"), cfg, pipeline, out)
    results = [analyser.process(frame) for frame in video_frames(test_clip)[:20]]
    raised = [r.alerts for r in results if r.alerts]
    assert len(out.alerts) == 1 and raised == [[out.alerts[0].alert]] and analyser.alerts_raised == 1
    first_try = next(i for i, r in enumerate(results) if r.time >= 0.5 and len(r.faces))
    assert out.alerts[0].alert.time <= results[first_try].time + 0.5  # a frame or two later, not 60 s later


def test_clip_frames_mark_the_offender_before_and_after_the_alert(pipeline, test_clip):
    """The unmasked face in the door is outlined in red as its label holds, when it alerts and after; the face in
    the open hall is dimmed and not outlined; the alert says how long the label held."""
    from helpers_service.pixels import off_red, outline_pixels, region

    cfg = door_config()
    pictures: list = []
    out = Collected()
    out.clip_frame = lambda camera, at, image: pictures.append(image)
    analyser = CameraAnalyser(cfg.camera("door-cam"), cfg, pipeline, out, clips=True)
    frames = video_frames(test_clip)[:32]
    results = [analyser.process(frame) for frame in frames]
    (raised,) = out.alerts
    assert 0.5 <= raised.alert.held_seconds < 1.0  # rules.min_seconds here
    alerted = next(i for i, r in enumerate(results) if r.alerts)
    for i in (alerted - 2, alerted, alerted + 3):  # about to alert, alerting, alerted
        faces = results[i].faces
        left, right = faces.xyxy[np.argmin(faces.xyxy[:, 0])], faces.xyxy[np.argmax(faces.xyxy[:, 0])]
        assert np.median(off_red(outline_pixels(pictures[i], left))) < 30, i
        assert np.median(off_red(outline_pixels(pictures[i], right))) > 60, i
        assert region(pictures[i], right).mean() < 0.5 * region(frames[i].image, right).mean(), i
    masked = results[31].faces  # the second photo: a masked face on the left, in the door, not marked
    left = masked.xyxy[np.argmin(masked.xyxy[:, 0])]
    assert masked.labels[np.argmin(masked.xyxy[:, 0])] == "mask"
    assert np.median(off_red(outline_pixels(pictures[31], left))) > 60
