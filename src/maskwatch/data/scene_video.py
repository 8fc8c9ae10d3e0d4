"""Moving scenes and size sweeps made from the VOC photos: clips for the live service, one face at many sizes.

- make_scene_video: a 1920x1080 H.264 clip (15 fps, the Debian `ffmpeg` binary with libx264) of people (cut-outs
  of the photos around a face, at their own pixel size) crossing a still background one after another in lanes,
  with the ground truth of every frame in a JSON file beside it:
  {"<clip stem>_f<frame index, 6 digits>": [{box, label, difficult}]};
- size_sweep_frames: one real face pasted at given sizes into frames of a given size (the tests' size sweep; the
  same frames can be written as a clip with write_video).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskwatch.core.errors import UserError
from maskwatch.data.scenes import WIDE_SIZE, Face, Photo, clip_faces, read_photo, resize_to, still_background

VIDEO_FPS = 15
FEATHER = 6  # px over which a cut-out fades into the background
MIN_OPACITY = 0.8  # mean feather opacity over a face below which its ground truth is difficult
EDGE_PX = 1.0  # a face box this close to its photo's edge reaches it
# Width / height of 98 % of the train photos' face boxes that reach no edge (1st and 99th percentiles). A box at
# the photo's edge outside this range across that edge is a face the edge cuts.
WHOLE_FACE_ASPECT = (0.5, 1.37)
BACKGROUND_MIN_SCORE = 0.3  # a background blob the detector scores this high could be shown as a face
SPEED = (1.0, 6.0)  # px per frame (15-90 px/s at 15 fps): people strolling, seen from afar


def write_video(frames: Iterable[np.ndarray], out: Path, fps: int = VIDEO_FPS, crf: int = 18) -> Path:
    """BGR frames of one size as an H.264 MP4 (yuv420p) through the `ffmpeg` binary."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UserError("ffmpeg not found (apt-get install ffmpeg)")
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = None
    try:
        for frame in frames:
            if proc is None:
                h, w = frame.shape[:2]
                proc = subprocess.Popen(
                    [
                        ffmpeg,
                        "-v",
                        "error",
                        "-y",
                        "-f",
                        "rawvideo",
                        "-pix_fmt",
                        "bgr24",
                        "-s",
                        f"{w}x{h}",
                        "-r",
                        str(fps),
                        "-i",
                        "-",
                        "-c:v",
                        "libx264",
                        "-preset",
                        "veryfast",
                        "-crf",
                        str(crf),
                        "-pix_fmt",
                        "yuv420p",
                        "-g",
                        str(2 * fps),
                        str(out),
                    ],
                    stdin=subprocess.PIPE,
                )
            assert proc.stdin is not None
            proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    finally:
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
            if proc.wait() != 0:
                raise UserError(f"ffmpeg could not write {out} (rc {proc.returncode})")
    if proc is None:
        raise UserError("no frames to write")
    return out


# ---- people walking --------------------------------------------------------------------------------------------


@dataclass
class Walker:
    patch: np.ndarray  # BGR cut-out
    alpha: np.ndarray  # float32 0..1, feathered at the cut-out's border
    faces: list[Face]  # in patch pixels
    y: int
    vx: float  # px per frame; the sign is the direction
    start: float  # the frame at which the walker stands at its first edge (negative: already walking)

    def crossing_frames(self, frame_width: int) -> float:
        return max(0, frame_width - self.patch.shape[1]) / abs(self.vx)

    def x_at(self, frame_index: int, frame_width: int) -> int | None:
        """Once across the frame at constant speed, from one edge to the other; None when not on screen."""
        t = frame_index - self.start
        if t < 0 or t > self.crossing_frames(frame_width):
            return None
        span = max(0, frame_width - self.patch.shape[1])
        return round(float(self.vx * t if self.vx > 0 else span + self.vx * t))


def person_cutout(image: np.ndarray, photo: Photo, face_index: int) -> tuple[np.ndarray, list[Face]]:
    """The part of a photo around one face, as a person seen from afar: a head's width either side, a little
    above, the shoulders and chest below; the photo's faces in it, cut ones clipped (difficult when mostly cut, or
    cut by the photo itself)."""
    x1, y1, x2, y2 = photo.faces[face_index].box
    w, h = x2 - x1, y2 - y1
    left, top = int(max(0, x1 - 0.8 * w)), int(max(0, y1 - 0.6 * h))
    right, bottom = int(min(image.shape[1], x2 + 0.8 * w)), int(min(image.shape[0], y2 + 2.5 * h))
    patch = image[top:bottom, left:right].copy()
    height, width = image.shape[:2]
    faces = [Face(f.box, f.label, f.difficult or cut_by_photo(f.box, width, height)) for f in photo.faces]
    return patch, clip_faces([f.moved(-left, -top) for f in faces], patch.shape[1], patch.shape[0])


def cut_by_photo(box: np.ndarray, width: int, height: int) -> bool:
    """Whether a face is cut by the edge of its width x height photo: its box reaches a side edge and is narrower
    than whole faces are, or the top or bottom edge and is flatter. Walking through a scene, it would be part of a
    face in mid-picture, which no camera shows, so its ground truth is difficult."""
    x1, y1, x2, y2 = (float(v) for v in box)
    aspect = (x2 - x1) / max(y2 - y1, 1e-6)
    at_side = x1 <= EDGE_PX or x2 >= width - EDGE_PX
    at_top_or_bottom = y1 <= EDGE_PX or y2 >= height - EDGE_PX
    return (at_side and aspect < WHOLE_FACE_ASPECT[0]) or (at_top_or_bottom and aspect > WHOLE_FACE_ASPECT[1])


def _feather(shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    ramp_y = np.clip(np.minimum(np.arange(h), np.arange(h)[::-1]) / FEATHER, 0, 1)
    ramp_x = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / FEATHER, 0, 1)
    return np.minimum(ramp_y[:, None], ramp_x[None, :]).astype(np.float32)


def faded(alpha: np.ndarray, box: np.ndarray) -> bool:
    """Whether the cut-out's feather fades a face (one at the edge of its photo) into the background: such a face
    is no longer a fair face to find, so its ground truth is difficult."""
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    inside = alpha[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)]
    return inside.size == 0 or float(inside.mean()) < MIN_OPACITY


def _cutout_from(
    queue: list[Photo], max_height: int, max_width: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[Face]] | None:
    """The first photo of the queue with a face of at least 12 px whose cut-out fits; taken off the queue."""
    for k, photo in enumerate(queue):
        candidates = [i for i, f in enumerate(photo.faces) if not f.difficult and min(f.box[2:] - f.box[:2]) >= 12]
        if not candidates:
            continue
        patch, faces = person_cutout(read_photo(photo), photo, int(rng.choice(candidates)))
        if patch.shape[0] <= max_height and patch.shape[1] < max_width:
            del queue[k]
            return patch, faces
    return None


def walkers(
    photos: list[Photo], people: int, size: tuple[int, int], rng: np.random.Generator, frames: int = 1
) -> list[Walker]:
    """People crossing the frame in up to `people` lanes (bands of rows, stacked down the frame so that no two
    people ever overlap): each lane starts with someone already walking; whoever reaches the far edge leaves and,
    after a pause, the next person (from another photo, at most as tall as the lane) enters, until `frames`."""
    queue = [photos[i] for i in rng.permutation(len(photos))]
    out: list[Walker] = []
    next_top = int(rng.integers(0, 40))
    for _ in range(people):
        first = _cutout_from(queue, size[1] - next_top, size[0], rng)
        if first is None:
            break
        lane_height = first[0].shape[0]
        cutout: tuple[np.ndarray, list[Face]] | None = first
        start: float | None = None
        while cutout is not None:
            walker = _walker(*cutout, next_top, rng, start, size[0])
            out.append(walker)
            start = walker.start + walker.crossing_frames(size[0]) + rng.uniform(0, 2 * VIDEO_FPS)
            cutout = _cutout_from(queue, lane_height, size[0], rng) if start < frames else None
        next_top += lane_height + int(rng.integers(8, 40))
    return out


def _walker(
    patch: np.ndarray, faces: list[Face], y: int, rng: np.random.Generator, start: float | None, frame_width: int
) -> Walker:
    """A walker in the lane at row y entering at `start`, or (None) somewhere on its way at frame 0."""
    alpha = _feather(patch.shape[:2])
    faces = [Face(f.box, f.label, f.difficult or faded(alpha, f.box)) for f in faces]
    walker = Walker(patch, alpha, faces, y, rng.uniform(*SPEED) * rng.choice([-1.0, 1.0]), 0.0)
    walker.start = -rng.uniform(0, walker.crossing_frames(frame_width)) if start is None else start
    return walker


def render_walkers(background: np.ndarray, people: list[Walker], frame_index: int) -> tuple[np.ndarray, list[Face]]:
    frame = background.astype(np.float32)
    faces: list[Face] = []
    for p in people:
        x = p.x_at(frame_index, frame.shape[1])
        if x is None:
            continue
        h, w = p.patch.shape[:2]
        area = frame[p.y : p.y + h, x : x + w]
        area += (p.patch.astype(np.float32) - area) * p.alpha[:, :, None]
        faces += [f.moved(x, p.y) for f in p.faces]
    return frame.astype(np.uint8), faces


def faceless_background(
    photos: list[Photo], size: tuple[int, int], rng: np.random.Generator, tries: int = 20
) -> np.ndarray:
    """A still background (scenes.still_background) of a random photo in which the shipped face detector finds
    nothing at the service's whole-frame input or at `predict`'s: a blurred head left in one would be an
    unannotated face at those scales."""
    from maskwatch.detect.models import resolve_detector
    from maskwatch.detect.retinaface import RetinaFaceDetector

    detectors = [
        RetinaFaceDetector(resolve_detector().path, side, BACKGROUND_MIN_SCORE, threads=1) for side in (640, 1024)
    ]
    for _ in range(tries):
        background = still_background(photos[int(rng.integers(0, len(photos)))], size, rng)
        if not any(len(d.detect(background)) for d in detectors):
            return background
    raise UserError(f"no photo of {tries} tried makes a background without a face-like blob")


def make_scene_video(
    photos: list[Photo],
    out: Path,
    seconds: float = 10.0,
    people: int = 8,
    seed: int = 0,
    size: tuple[int, int] = WIDE_SIZE,
    fps: int = VIDEO_FPS,
) -> tuple[Path, Path]:
    """OUT (.mp4) and OUT with .json: the clip and the ground truth of each of its frames; `people`: the lanes,
    so at most that many people on screen at once (see walkers)."""
    rng = np.random.default_rng(seed)
    cast = walkers(photos, people, size, rng, max(1, round(seconds * fps)))
    if not cast:
        raise UserError("no photo has a face large enough for a clip")
    background = faceless_background(photos, size, rng)
    truth: dict[str, list[dict]] = {}
    out = Path(out).with_suffix(".mp4")

    def frames() -> Iterator[np.ndarray]:
        for i in range(max(1, round(seconds * fps))):
            frame, faces = render_walkers(background, cast, i)
            truth[f"{out.stem}_f{i:06d}"] = [
                {"box": [round(float(v), 1) for v in f.box], "label": f.label, "difficult": bool(f.difficult)}
                for f in faces
            ]
            yield frame

    write_video(frames(), out, fps)
    truth_path = out.with_suffix(".json")
    truth_path.write_text(json.dumps(truth))
    return out, truth_path


def read_video_truth(path: Path) -> dict[str, list[dict]]:
    """The ground truth make_scene_video wrote: frame key -> [{box, label, difficult}]."""
    return json.loads(Path(path).read_text())


# ---- size sweep ------------------------------------------------------------------------------------------------


def face_patch(image: np.ndarray, box: np.ndarray, context: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """A square cut around a face box, `context` of the box's long side added on each side (the photo's edge
    replicated where it runs out), and the box in the cut's pixels."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * context)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = round(float(cx - side / 2)), round(float(cy - side / 2))
    n = round(float(side))
    pad = max(0, -left, -top, left + n - image.shape[1], top + n - image.shape[0])
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else image
    patch = padded[top + pad : top + pad + n, left + pad : left + pad + n].copy()
    return patch, np.asarray(box, np.float64) - [left, top, left, top]


def size_sweep_frames(
    patch: np.ndarray,
    box: np.ndarray,
    label: str,
    sizes: Iterable[int],
    background: np.ndarray,
    centre: tuple[float, float] | None = None,
) -> list[tuple[int, np.ndarray, Face]]:
    """(size, frame, face) for each size at which the face fits into the background's frame: the patch scaled so
    that the face box's long side is `size` px, the face centred on `centre` (default: the frame's centre), the
    patch cut by the frame's edge where it is larger."""
    fh, fw = background.shape[:2]
    cx, cy = centre or (fw / 2, fh / 2)
    out = []
    for size in sizes:
        scale = size / max(box[2] - box[0], box[3] - box[1])
        scaled_box = box * scale
        if scaled_box[2] - scaled_box[0] > fw or scaled_box[3] - scaled_box[1] > fh:
            continue
        pw, ph = max(1, round(patch.shape[1] * scale)), max(1, round(patch.shape[0] * scale))
        small = resize_to(patch, pw, ph)
        dx = round(float(cx - (scaled_box[0] + scaled_box[2]) / 2))
        dy = round(float(cy - (scaled_box[1] + scaled_box[3]) / 2))
        dx = int(np.clip(dx, -scaled_box[0], fw - scaled_box[2]))
        dy = int(np.clip(dy, -scaled_box[1], fh - scaled_box[3]))
        frame = background.copy()
        x0, y0, x1, y1 = max(0, dx), max(0, dy), min(fw, dx + pw), min(fh, dy + ph)
        frame[y0:y1, x0:x1] = small[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
        out.append((size, frame, Face(scaled_box + np.array([dx, dy, dx, dy], np.float64), label)))
    return out
