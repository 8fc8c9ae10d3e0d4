"""The wide cameras of benchmarks/live.py (--clip wide) and their scoring; run alone, the offline check used to
tune the region settings:

    python benchmarks/live_wide.py build/scenes/video-train [--set detector.region_max=4 ...]

runs each clip of the folder (maskwatch.data.scene_video: 1920x1080 H.264 15 fps, people at their own pixel size
walking over a still background, ground truth for every frame) through one CameraAnalyser at 5 analyses a second
of video time (as `detect VIDEO --json` does) and prints one JSON line: unmasked recall, mAP, and the seconds spent.

unmasked_recall: of the unmasked faces (no_mask or incorrect, not difficult) of the analysed frames, the share
matched (IoU >= 0.5, each shown face matched once) by a shown face labelled no_mask or incorrect at score >= 0.5
(Detections.scores: face score times the unmasked probability). unmasked_recall_ci95 and map_mask_no_mask_ci95:
their 95 % intervals over resampled clips (a live run's cameras), each clip's frames drawn together, since they
show the same people: how far another set of clips like these could move the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SCENES = REPO / "build" / "scenes"
UNMASKED = ("no_mask", "incorrect")
CAMERA_FPS, ANALYSED_FPS = 15, 5
FILE_SECONDS = 72  # every camera file: longer than warm-up and measured window (8 + 60 s), so no face is scored
# twice by a file starting again; a whole number of analysed frames (1080 frames, 360 analysed)


def wide_clips(split: str) -> list[Path]:
    folder = SCENES / f"video-{split}"
    clips = sorted(folder.glob("*.mp4"))
    if not clips:
        sys.exit(
            f"error: no clips in {folder}: make them with `maskwatch data scenes ../shared/data --manifest "
            f"build/crops/manifest.csv --out build/scenes --kind video --split {split}`"
        )
    return clips


def clip_frames(clip: Path) -> int:
    return len(json.loads(clip.with_suffix(".json").read_text()))


def wide_camera_files(n: int, split: str, out_dir: Path) -> list[tuple[Path, Path, int]]:
    """(camera file, its clip, the clip frame the file starts at) for camera i: clip i % clips, starting
    (i // clips) * 2 s further in (looped), FILE_SECONDS long, re-encoded by libx264 as the clip was."""
    clips = wide_clips(split)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        clip = clips[i % len(clips)]
        start = ((i // len(clips)) * 2 * CAMERA_FPS) % clip_frames(clip)
        path = out_dir / f"wide-{split}-{clip.stem}-{start}-{FILE_SECONDS}s.mp4"
        if not path.is_file() or path.stat().st_mtime < clip.stat().st_mtime:  # made from an older clip
            encode_window(clip, start, path)
        files.append((path, clip, start))
    return files


def encode_window(clip: Path, start: int, path: Path) -> None:
    """FILE_SECONDS of `clip` from frame `start` on (looped) as a 15 fps H.264 file: the ffmpeg binary, or PyAV's
    libx264 (maskwatch[serve]) on a machine without one, with the same encoder settings."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        encode_window_pyav(clip, start, path)
        return
    loop = ["-stream_loop", "-1", "-i", str(clip), "-vf", f"select=gte(n\\,{start}),setpts=N/{CAMERA_FPS}/TB"]
    cmd = [ffmpeg, "-v", "error", "-y", *loop, "-frames:v", str(FILE_SECONDS * CAMERA_FPS)]
    cmd += ["-r", str(CAMERA_FPS), "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "30"]
    subprocess.run([*cmd, "-pix_fmt", "yuv420p", str(path)], check=True)


def encode_window_pyav(clip: Path, start: int, path: Path) -> None:
    import av
    import cv2

    cap = cv2.VideoCapture(str(clip))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)

    def next_frame() -> np.ndarray:
        nonlocal cap
        ok, image = cap.read()
        if not ok:  # the clip's end: on from its first frame, as ffmpeg's -stream_loop
            cap = cv2.VideoCapture(str(clip))
            ok, image = cap.read()
        if not ok:
            sys.exit(f"error: {clip}: no frame could be read")
        return image

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=CAMERA_FPS, options={"preset": "veryfast", "crf": "18", "g": "30"})
        stream.pix_fmt = "yuv420p"
        stream.width, stream.height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        for _ in range(FILE_SECONDS * CAMERA_FPS):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(next_frame(), format="bgr24")))
        out.mux(stream.encode())
    cap.release()


def truth_key(clip: Path, start: int, seq: int) -> str:
    """The ground-truth key of a camera file's delivered frame `seq` (1, 2, ...): the reader delivers every third
    frame of the 15 fps file (5 a second) and starts the file again at its end."""
    file_frame = ((seq - 1) * (CAMERA_FPS // ANALYSED_FPS)) % (FILE_SECONDS * CAMERA_FPS)
    return f"{clip.stem}_f{(start + file_frame) % clip_frames(clip):06d}"


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    tl, br = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area = lambda x: np.prod(np.clip(x[:, 2:] - x[:, :2], 0, None), axis=1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def unmasked_found(truth: list[dict], shown: list[dict], min_score: float = 0.5) -> tuple[int, int]:
    """(unmasked faces flagged, unmasked faces) of one frame."""
    gt = np.array([t["box"] for t in truth if t["label"] in UNMASKED and not t["difficult"]], np.float64)
    flags = np.array([p["box"] for p in shown if p["label"] in UNMASKED and p["score"] >= min_score], np.float64)
    if len(gt) == 0 or len(flags) == 0:
        return 0, len(gt)
    overlap, found = _iou(gt.reshape(-1, 4), flags.reshape(-1, 4)), 0
    for i in range(len(gt)):
        j = int(np.argmax(overlap[i]))
        if overlap[i, j] >= 0.5:
            found, overlap[:, j] = found + 1, -1.0
    return found, len(gt)


def score(preds: dict[str, list[dict]], truths: dict[str, dict[str, list[dict]]]) -> dict:
    """unmasked_recall and mAP over the analysed frames: preds {key: shown faces}; truths {clip stem: truth}."""
    from maskwatch.data.voc_folder import ImageAnnotation
    from maskwatch.evaluate.bootstrap import ratio_interval
    from maskwatch.evaluate.voc import score_predictions

    flat = {key: faces for truth in truths.values() for key, faces in truth.items()}
    found = total = 0
    annotations, counts = [], []
    for key, shown in preds.items():
        f, t = unmasked_found(flat[key], shown)
        found, total = found + f, total + t
        counts.append((f, t))
        faces = flat[key]
        boxes = np.array([x["box"] for x in faces], np.float64).reshape(-1, 4)
        annotations.append(ImageAnnotation(key, boxes, [x["label"] for x in faces], [x["difficult"] for x in faces]))
    clips = [clip_of(key) for key in preds]
    result = score_predictions(preds, annotations, intervals=True, groups=clips) if annotations else None
    return {
        "frames_scored": len(preds),
        "unmasked_faces": total,
        "unmasked_recall": round(found / total, 4) if total else None,
        "map_mask_no_mask": round(result.map_primary, 4) if result else None,
        "clips": len(set(clips)),
        "unmasked_recall_ci95": ratio_interval([f for f, _ in counts], [t for _, t in counts], clips),
        "map_mask_no_mask_ci95": result.intervals.get("map_mask_no_mask") if result else None,
    }


def clip_of(key: str) -> str:
    """The clip a scored frame belongs to: the camera of a live run's key (`cam3/000012/<truth key>`), else the
    clip stem of a truth key (`<stem>_f<frame>`)."""
    return key.split("/", 1)[0] if "/" in key else key.rsplit("_f", 1)[0]


def offline(folder: Path, overrides: list[str], preds_out: Path | None = None) -> dict:
    """Each clip through one CameraAnalyser at ANALYSED_FPS of video time; scores and seconds."""
    import cv2

    from maskwatch.analysis import CameraAnalyser
    from maskwatch.backends import make_pipeline
    from maskwatch.config import AppConfig
    from maskwatch.pipeline.files import prediction_entries
    from maskwatch.sources import Frame

    cfg: dict = {"cameras": [{"name": "cam", "source": "x.mp4"}], "detector": {}}
    for item in overrides:
        key, _, value = item.partition("=")
        section, name = key.split(".")
        cfg.setdefault(section, {})[name] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    config = AppConfig.model_validate(cfg)
    pipeline = make_pipeline(config.detector)
    preds, truths, seconds, regions = {}, {}, 0.0, 0
    for clip in sorted(folder.glob("*.mp4")):
        truths[clip.stem] = json.loads(clip.with_suffix(".json").read_text())
        analyser = CameraAnalyser(config.cameras[0], config, pipeline)
        cap = cv2.VideoCapture(str(clip))
        index = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if index % (CAMERA_FPS // ANALYSED_FPS) == 0:
                t0 = time.perf_counter()
                result = analyser.process(Frame(image, index + 1, index / CAMERA_FPS))
                seconds += time.perf_counter() - t0
                preds[f"{clip.stem}_f{index:06d}"] = prediction_entries(result.faces, 0.05)
            index += 1
        regions += analyser.finder.regions_detected
    if preds_out is not None:
        preds_out.write_text(json.dumps(preds))
    out = score(preds, truths)
    out.update(seconds=round(seconds, 2), ms_per_frame=round(1000 * seconds / max(1, len(preds)), 1))
    out.update(regions_per_frame=round(regions / max(1, len(preds)), 2), settings=overrides)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--preds", type=Path, help="write the shown faces of every analysed frame here (as detect --json)")
    args = ap.parse_args()
    print(json.dumps(offline(args.folder, args.set, args.preds)))


if __name__ == "__main__":
    main()
