"""Still wide scenes: how soon the live analysis finds faces that do not move.

    python benchmarks/still_wide.py build/scenes/wide-val/andrewmvd build/scenes/wide-val/jolignier [--frames 24]

The wide frames of `maskwatch data scenes ... --split val` (1920x1080, photos at their own pixel size over a still
background) are held still, each for --seconds, in a 5-fps H.264 video (made once under build/still/), and each
video is run through one CameraAnalyser with the service's defaults, as `detect VIDEO --json` runs it. Every
analysed frame is scored against its frame's annotation: the share of faces (not difficult) shown at score >= 0.5
with IoU >= 0.5, whatever their label, by face size, in the video's first second (the start sweep's time at 1080p),
from then to the end of the first sweep (detector.region_sweep_seconds) and after it. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from maskwatch.data.voc_folder import ImageAnnotation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_wide import _iou

REPO = Path(__file__).resolve().parent.parent
FPS = 5
SIZES = (("0-15px", 16), ("16-23px", 24), ("24-47px", 48), ("48px+", float("inf")))  # below this face px (longer side)


def still_videos(folders: list[Path], frames: int, seconds: float) -> list[tuple[Path, ImageAnnotation]]:
    """(video, its frame's annotation) for the first frames // len(folders) frames of each VOC folder."""
    from maskwatch.core.media import read_image
    from maskwatch.data.scene_video import write_video
    from maskwatch.data.voc_folder import read_voc_folder

    out_dir = REPO / "build" / "still"
    videos = []
    for folder in folders:
        for ann in read_voc_folder(folder)[: frames // len(folders)]:
            video = out_dir / f"{folder.name}-{Path(ann.name).stem}-{seconds:g}s.mp4"
            if not video.is_file():
                image = read_image(ann.image_file)
                write_video([image] * round(seconds * FPS), video, fps=FPS)
            videos.append((video, ann))
    return videos


def size_bin(box: np.ndarray) -> str:
    side = max(box[2] - box[0], box[3] - box[1])
    return next(name for name, below in SIZES if side < below)


def found_faces(ann: ImageAnnotation, shown: list[dict]) -> list[tuple[str, bool]]:
    """(size bin, found) of each annotated face that is not difficult."""
    boxes = np.array([f["box"] for f in shown if f["score"] >= 0.5], np.float64).reshape(-1, 4)
    faces = ann.boxes[~ann.difficult]
    if len(faces) == 0:
        return []
    hit = _iou(faces, boxes).max(axis=1) >= 0.5 if len(boxes) else np.zeros(len(faces), bool)
    return [(size_bin(b), bool(h)) for b, h in zip(faces, hit, strict=True)]


def run(folders: list[Path], frames: int, seconds: float) -> dict:
    from maskwatch.analysis import CameraAnalyser
    from maskwatch.analysis.video_file import analyse_video
    from maskwatch.backends import make_pipeline
    from maskwatch.config import AppConfig

    config = AppConfig.model_validate({"cameras": [{"name": "cam", "source": "x.mp4", "fps": FPS}]})
    pipeline = make_pipeline(config.detector)
    sweep = config.detector.region_sweep_seconds
    counts: dict[str, dict[str, list[int]]] = {"first_second": {}, "first_sweep": {}, "after": {}}
    started = time.perf_counter()
    videos = still_videos(folders, frames, seconds)
    for video, ann in videos:
        analysis = analyse_video(video, CameraAnalyser(config.cameras[0], config, pipeline), progress=False)
        for key, shown in analysis.results.items():
            at = int(key.rsplit("_f", 1)[1]) / FPS
            period = "first_second" if at < 1 else "first_sweep" if at < sweep else "after"
            for size, hit in found_faces(ann, shown):
                tally = counts[period].setdefault(size, [0, 0])
                tally[0], tally[1] = tally[0] + hit, tally[1] + 1
    return {
        "benchmark": "still_wide",
        "videos": len(videos),
        "seconds_each": seconds,
        "sweep_seconds": sweep,
        "found": {p: {s: round(h / n, 3) for s, (h, n) in sorted(c.items())} for p, c in counts.items()},
        "face_frames": {p: {s: n for s, (_, n) in sorted(c.items())} for p, c in counts.items()},
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="VOC folders of wide frames")
    parser.add_argument("--frames", type=int, default=24, help="frames in all, shared out over the folders")
    parser.add_argument("--seconds", type=float, default=12.0, help="seconds each frame is held")
    args = parser.parse_args()
    missing = [str(f) for f in args.folders if not (f / "annotations").is_dir()]
    if missing:
        sys.exit(
            f"error: not a VOC folder: {', '.join(missing)} (make them with `maskwatch data scenes ../shared/data "
            "--manifest build/crops/manifest.csv --out build/scenes --split val`)"
        )
    print(json.dumps(run(args.folders, args.frames, args.seconds)))


if __name__ == "__main__":
    main()
