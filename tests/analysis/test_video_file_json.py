"""`maskwatch detect VIDEO --json`: the live camera analysis over a video file, on real clips written here.

Every analysed frame is in the JSON (at 5 fps from a 15 fps clip: frames 0, 3, 6, ...), keyed <stem>_f<6 digits>,
an empty list where the live view shows no face; bad inputs are one-line errors; and the size sweep (one real face
at 12 to 512 px in 1080p and 320x240 frames) is found through the live analysis.
"""

import json

import cv2
import numpy as np
import pytest

from helpers_service.cli import one_line_error, run_cli
from maskwatch.analysis.video_file import is_analysed
from maskwatch.data.scene_video import size_sweep_frames, write_video
from maskwatch.data.scenes import still_background
from maskwatch.detect.anchors import box_iou

SIZES = (12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
HOLD = 15  # video frames each size is held: 1 s at 15 fps, 5 analysed frames at 5 fps
FOUND_SCORE = 0.5
FOUND_IOU = 0.5
# The 12 px face stands still from the camera's first frame: found by the start sweep over its first frames, at 2x
# (the 1x sweep scores it under 0.02); the larger ones arrive, and get a motion region at up to 3x.


@pytest.fixture(scope="module")
def face(sweep_face):
    return sweep_face


def test_frames_due_at_the_analysis_rate():
    assert [i for i in range(16) if is_analysed(i, 15.0, 5.0)] == [0, 3, 6, 9, 12, 15]
    assert [i for i in range(11) if is_analysed(i, 25.0, 5.0)] == [0, 5, 10]
    assert [i for i in range(9) if is_analysed(i, 29.97, 10.0)] == [0, 3, 6]
    assert all(is_analysed(i, 4.0, 5.0) for i in range(8))  # a slower video: every frame


def test_every_analysed_frame_keyed_and_empty_without_faces(face, tmp_path):
    """A 15 fps clip: 1 s of the empty scene, then 2 s of one face at 128 px."""
    patch, box, backdrop = face
    background = still_background(backdrop, (640, 360), np.random.default_rng(0))
    ((_, with_face, truth),) = size_sweep_frames(patch, box, "no_mask", [128], background)
    clip = write_video([background] * 15 + [with_face] * 30, tmp_path / "door cam.mp4", fps=15)
    out = tmp_path / "out" / "faces.json"
    proc = run_cli("detect", clip, "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert "15 of 45 frame(s) analysed" in proc.stderr
    results = json.loads(out.read_text())
    assert list(results) == [f"door cam_f{i:06d}" for i in range(0, 45, 3)]
    for index in range(0, 15, 3):
        assert results[f"door cam_f{index:06d}"] == []
    for index in range(15, 45, 3):
        faces = results[f"door cam_f{index:06d}"]
        assert len(faces) == 1, (index, faces)
        assert set(faces[0]) == {"box", "label", "score"}
        assert faces[0]["label"] in ("mask", "no_mask", "incorrect")
        assert 0.0 < faces[0]["score"] <= 1.0
        assert box_iou(truth.box, np.array([faces[0]["box"]]))[0, 0] >= FOUND_IOU


def test_camera_settings_from_a_config(face, tmp_path):
    """--config/--camera: the camera's fps sets the analysis rate; -o writes the annotated video beside the JSON."""
    backdrop = face[2]
    background = still_background(backdrop, (320, 240), np.random.default_rng(0))
    clip = write_video([background] * 12, tmp_path / "clip.mp4", fps=12)
    config = tmp_path / "service.yaml"
    config.write_text(f"cameras:\n  - name: door\n    source: {clip}\n    fps: 2\n  - name: hall\n    source: 0\n")
    out, video = tmp_path / "faces.json", tmp_path / "annotated.mp4"
    proc = run_cli("detect", clip, "--json", out, "--config", config, "--camera", "door", "-o", video)
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(out.read_text())) == [f"clip_f{i:06d}" for i in (0, 6)]
    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    cap.release()


@pytest.mark.parametrize(
    ("name", "content", "extra", "says"),
    [
        ("notes.txt", b"hello", [], "not a video file"),
        ("photo.jpg", None, [], "--json is for videos; use `maskwatch predict` for images"),
        ("broken.mp4", b"\x00\x01garbage" * 200, [], "cannot be read as a video"),
        ("missing.mp4", False, [], "no such file"),
        ("empty.mp4", b"", [], "cannot be read as a video"),
        ("ok.mp4", "clip", ["--camera", "door"], "--camera door: give the config file"),
        ("ok.mp4", "clip", ["--config", "{config}", "--camera", "gate"], "no camera named 'gate'"),
        ("ok.mp4", "clip", ["--json", "{tmp}/taken.txt/out.json"], "--json"),
        ("ok.mp4", "clip", ["--min-score", "0.3"], "--mode and --min-score are for -o alone"),
    ],
)
def test_bad_inputs_are_one_line_errors(tmp_path, name, content, extra, says):
    src = tmp_path / name
    if content is None:
        cv2.imwrite(str(src), np.zeros((32, 32, 3), np.uint8))
    elif content == "clip":
        write_video([np.zeros((64, 64, 3), np.uint8)] * 3, src, fps=15)
    elif content is not False:
        src.write_bytes(content)
    (tmp_path / "taken.txt").write_text("a file, not a folder")
    config = tmp_path / "service.yaml"
    config.write_text("cameras:\n  - name: door\n    source: 0\n")
    args = [a.format(config=config, tmp=tmp_path) for a in extra]
    json_args = [] if "--json" in args else ["--json", tmp_path / "out.json"]
    line = one_line_error(run_cli("detect", src, *json_args, *args))
    assert says in line, line


def test_zero_frame_video_is_a_one_line_error(tmp_path):
    src = tmp_path / "nothing.avi"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter.fourcc(*"MJPG"), 15, (64, 64))
    writer.release()  # a container with no frame in it
    assert src.is_file()
    line = one_line_error(run_cli("detect", src, "--json", tmp_path / "out.json"))
    assert "cannot be read" in line or "no frame could be read" in line, line
    assert not (tmp_path / "out.json").exists()


def _sweep_clip(face, frame_size, folder):
    """A 15 fps clip holding each size that fits for HOLD frames; the truth box of each size."""
    patch, box, backdrop = face
    background = still_background(backdrop, frame_size, np.random.default_rng(0))
    sweep = size_sweep_frames(patch, box, "no_mask", SIZES, background)
    frames = [frame for _, frame, _ in sweep for _ in range(HOLD)]
    clip = write_video(frames, folder / f"sweep_{frame_size[0]}x{frame_size[1]}.mp4", fps=15)
    return clip, {size: f.box for size, _, f in sweep}


FRAME_SIZES = ((1920, 1080), (320, 240))
# The PyTorch backend (detector.backend: torch, run here on the CPU; on a GPU with providers: cuda) plans the same
# regions and whole frames: both sweeps run through it too.
BACKENDS = ("onnxruntime", "torch")


@pytest.fixture(scope="module")
def live_sweep(face, tmp_path_factory):
    """{(frame size, backend): (detect --json results, {size: truth box}, stem)} for each frame size of the sweep."""
    folder = tmp_path_factory.mktemp("live_sweep")
    out = {}
    for frame_size in FRAME_SIZES:
        clip, truth = _sweep_clip(face, frame_size, folder)
        for backend in BACKENDS:
            json_out = folder / f"{clip.stem}-{backend}.json"
            config_args = []
            if backend != "onnxruntime":  # the service's defaults but the backend
                config = folder / f"{backend}.yaml"
                config.write_text(f"cameras:\n  - name: sweep\n    source: {clip}\ndetector:\n  backend: {backend}\n")
                config_args = ["--config", config]
            proc = run_cli("detect", clip, "--json", json_out, *config_args)
            assert proc.returncode == 0, proc.stderr
            out[frame_size, backend] = (json.loads(json_out.read_text()), truth, clip.stem)
    return out


SWEEP_CASES = [
    pytest.param(
        frame_size,
        backend,
        size,
        id=f"{frame_size[0]}x{frame_size[1]}-{backend}-{size}px",
    )
    for frame_size in FRAME_SIZES
    for backend in BACKENDS
    for size in SIZES
    if size <= min(frame_size)
]


@pytest.mark.parametrize(("frame_size", "backend", "size"), SWEEP_CASES)
def test_size_sweep_found_through_detect_json(live_sweep, frame_size, backend, size):
    """The last analysed frame of each size's hold shows the face: score >= 0.5, IoU >= 0.5 with the truth."""
    results, truth, stem = live_sweep[frame_size, backend]
    sizes = sorted(truth)
    assert sizes == [s for s in SIZES if s <= min(frame_size)]
    start = sizes.index(size) * HOLD
    last = max(i for i in range(start, start + HOLD) if i % 3 == 0)
    faces = results[f"{stem}_f{last:06d}"]
    boxes = np.array([f["box"] for f in faces if f["score"] >= FOUND_SCORE]).reshape(-1, 4)
    iou = box_iou(truth[size], boxes)[0] if len(boxes) else np.zeros(0)
    assert (iou >= FOUND_IOU).any(), f"{size} px face not shown on frame {last}: {faces}"
