"""`maskwatch detect VIDEO --json`: a video file through the live service's per-camera analysis.

The frames are picked at the camera's analysis rate (`cameras[].fps`) in the video's own time (frame index / the
video's frame rate) and fed to a `CameraAnalyser` built exactly as `serve` builds one (motion gating, tracker,
label smoothing, the detector settings), as fast as the machine decodes and analyses them. The JSON holds what the
live view shows on each analysed frame: {"<stem>_f<frame index, 6 digits>": [{box, label, score}]}, an empty list
where it shows no face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from maskwatch.analysis import CameraAnalyser
from maskwatch.config import AppConfig, CameraConfig, DetectorConfig
from maskwatch.core.detections import Detections
from maskwatch.core.draw import draw_detections
from maskwatch.core.errors import UserError
from maskwatch.core.media import IMAGE_EXTS, VIDEO_EXTS, check_pixels
from maskwatch.pipeline.files import prediction_entries
from maskwatch.pipeline.report import VIDEO_OUTPUTS, stderr
from maskwatch.sources import Frame

FALLBACK_FPS = 25.0  # a video that states no frame rate is taken to run at this one


@dataclass
class VideoAnalysis:
    """What detect --json found: the JSON object, and counts for the summary."""

    results: dict[str, list[dict]]
    frames_read: int
    video_fps: float
    analysis_fps: float

    @property
    def faces(self) -> int:
        return sum(len(faces) for faces in self.results.values())

    def labels(self) -> dict[str, int]:
        from maskwatch.core.labels import CLASSES

        counts = dict.fromkeys(CLASSES, 0)
        for faces in self.results.values():
            for face in faces:
                counts[face["label"]] += 1
        return counts


def frame_key(stem: str, index: int) -> str:
    return f"{stem}_f{index:06d}"


def is_analysed(index: int, video_fps: float, analysis_fps: float) -> bool:
    """Whether frame `index` is analysed: the first frame of each 1/analysis_fps slot of video time (at 15 fps and
    an analysis rate of 5: frames 0, 3, 6, ...); every frame where the video runs slower than the analysis."""
    if analysis_fps >= video_fps:
        return True

    def slot(i: int) -> int:
        return math.floor(i * analysis_fps / video_fps + 1e-9)

    return index == 0 or slot(index) != slot(index - 1)


def camera_settings(video: Path, config_path: Path | None, camera: str | None) -> tuple[CameraConfig, AppConfig]:
    """The camera of `--config FILE --camera NAME` (the file's only camera where it has one and no NAME is given),
    or the service's defaults for a camera showing `video`."""
    if config_path is None:
        if camera is not None:
            raise UserError(f"--camera {camera}: give the config file that defines it with --config")
        config = AppConfig(cameras=[CameraConfig(name="video", source=str(video))])
        return config.cameras[0], config
    from maskwatch.config.loader import load_config

    config = load_config(config_path)
    names = [cam.name for cam in config.cameras]
    if camera is None:
        if len(names) > 1:
            raise UserError(f"{config_path} has {len(names)} cameras: name one with --camera ({', '.join(names)})")
        return config.cameras[0], config
    if camera not in names:
        raise UserError(f"{config_path}: no camera named {camera!r} (cameras: {', '.join(names)})")
    return config.camera(camera), config


def _with_detector(config: AppConfig, changes: dict[str, object]) -> AppConfig:
    """The config with detect's --input-size, --classifier and --detector in its detector settings (keys
    input_size, classifier, model; None: the config's), validated as the file's."""
    from pydantic import ValidationError

    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return config
    try:
        detector = DetectorConfig.model_validate({**config.detector.model_dump(), **changes})
    except ValidationError as err:
        first = err.errors()[0]
        option = {"input_size": "--input-size", "classifier": "--classifier", "model": "--detector"}[
            str(first["loc"][0])
        ]
        raise UserError(f"{option}: {first['msg'].removeprefix('Value error, ')}") from None
    return config.model_copy(update={"detector": detector})


def check_video_json_paths(src: Path, json_out: Path, video_out: Path | None) -> None:
    """One-line errors for inputs --json does not take and outputs it cannot write, before any model loads."""
    if src.is_dir():
        raise UserError(f"{src} is a folder: detect --json takes one video file")
    if not src.exists():
        raise UserError(f"{src}: no such file or directory")
    suffix = src.suffix.lower()
    if suffix in IMAGE_EXTS:
        raise UserError(f"{src}: --json is for videos; use `maskwatch predict` for images")
    if suffix not in VIDEO_EXTS:
        raise UserError(f"{src}: not a video file ({suffix or 'no extension'})")
    if video_out is not None and video_out.suffix.lower() not in VIDEO_OUTPUTS:
        raise UserError(f"--out {video_out}: a video in, so a video out: name it {', '.join(VIDEO_OUTPUTS[:3])}, ...")
    if str(json_out) == "-":
        return
    if json_out.is_dir():
        raise UserError(f"--json {json_out} is a folder: name the JSON file to write")
    folder = json_out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--json {json_out}: cannot create its folder ({err.strerror or err})") from None
    existed = json_out.exists()
    try:
        with json_out.open("a"):  # opened as the end will open it, so that a bad place fails before the analysis
            pass
    except OSError as err:
        raise UserError(f"--json {json_out}: cannot write there ({err.strerror or err})") from None
    if not existed:
        json_out.unlink()


def open_video(src: Path) -> tuple[cv2.VideoCapture, float, int | None]:
    """The opened capture, its frame rate and its stated frame count (None when it states none)."""
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise UserError(f"{src}: cannot be read as a video (corrupt or unsupported)")
    check_pixels(src, (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not 0 < fps <= 1000:
        stderr.print(f"{src.name} states no frame rate: taken as {FALLBACK_FPS:g} fps")
        fps = FALLBACK_FPS
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return cap, fps, total if total > 0 else None


class _AnnotatedWriter:
    """-o next to --json: every frame of the video, with the faces of the last analysed frame drawn on."""

    def __init__(self, dst: Path, fps: float, size: tuple[int, int]):
        dst.parent.mkdir(parents=True, exist_ok=True)
        self.writer = cv2.VideoWriter(str(dst), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            raise UserError(f"{dst}: cannot write a video there (use .mp4 or .avi)")

    def write(self, image: np.ndarray, faces: Detections | None) -> None:
        self.writer.write(draw_detections(image, faces, copy=False) if faces is not None and len(faces) else image)

    def release(self) -> None:
        self.writer.release()


def analyse_video(
    src: Path, analyser: CameraAnalyser, video_out: Path | None = None, progress: bool = True
) -> VideoAnalysis:
    """Feeds the frames of `src` due at the analyser's camera rate to it, in video time; the live view's faces of
    each analysed frame as detect --json's entries."""
    cap, video_fps, total = open_video(src)
    rate = analyser.camera.fps
    results: dict[str, list[dict]] = {}
    writer: _AnnotatedWriter | None = None
    shown: Detections | None = None
    index = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=stderr, disable=not progress) as bar:
            task = bar.add_task(f"analyse {src.name} at {rate:g} fps", total=total)
            while cap.grab():
                due = is_analysed(index, video_fps, rate)
                image = cap.retrieve()[1] if due or video_out is not None else None
                if image is None and (due or video_out is not None):
                    break  # a frame that does not decode: the video ends here
                if due:
                    assert image is not None
                    result = analyser.process(Frame(image, len(results) + 1, index / video_fps))
                    results[frame_key(src.stem, index)] = prediction_entries(result.faces, 0.0)
                    shown = result.faces
                if video_out is not None and image is not None:
                    writer = writer or _AnnotatedWriter(video_out, video_fps, (image.shape[1], image.shape[0]))
                    writer.write(image, shown)
                index += 1
                bar.update(task, advance=1, total=max(total or 0, index))
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if not results:
        raise UserError(f"{src}: no frame could be read (an empty, corrupt or unsupported video)")
    return VideoAnalysis(results, index, video_fps, rate)


def detect_video_json(
    src: Path,
    json_out: Path,
    video_out: Path | None = None,
    config_path: Path | None = None,
    camera: str | None = None,
    input_size: int | None = None,
    classifier: Path | None = None,
    detector: str | None = None,
) -> VideoAnalysis:
    """detect --json: the camera's settings (or the service's defaults), its pipeline as `serve` makes it, the
    video through a CameraAnalyser, the JSON written."""
    from maskwatch.backends import make_pipeline
    from maskwatch.pipeline.report import write_json

    check_video_json_paths(src, json_out, video_out)
    cam, config = camera_settings(src, config_path, camera)
    config = _with_detector(config, {"input_size": input_size, "classifier": classifier, "model": detector})
    cap, _, _ = open_video(src)  # a bad video is said before the models load
    ok = cap.grab()
    cap.release()
    if not ok:
        raise UserError(f"{src}: no frame could be read (an empty, corrupt or unsupported video)")
    analyser = CameraAnalyser(cam, config, make_pipeline(config.detector))
    analysis = analyse_video(src, analyser, video_out)
    write_json(analysis.results, json_out)
    return analysis
