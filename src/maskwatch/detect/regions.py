"""Where to look for faces in a live camera's frame: regions around motion and around the faces already found, and
a sweep over the whole frame for faces that stand still (after Frigate's region planning).

A wide 1080p camera shows faces of 10-30 px; shrunk whole to the detector's 640 px they vanish, and the whole
frame at native resolution or above costs ~0.1-0.5 s a frame on a small CPU. Regions look where something can have
changed, at a resolution that suits the faces there:

- every region is a square that becomes `input_side` px at the detector's input (so the regions of all cameras
  run as one batch), its side in frame pixels one of `sides` (85 px at 3x, 128 at 2x, 256 at 1x, 512 at 0.5x
  with the default 256): a motion blob is given the smallest that holds it (larger blobs are cut into squares of
  the largest side); a face, which needs less room, a square of `face_input` px at the input (a second batch),
  its side `face_room` times the face, so that every face is shown to the detector at one size (80 px with the
  service's 192), enlarged at most `face_scale_max` times and shrunk to `face_scale_min` at most (the detector
  scores some faces 0.9 or more at 66-88 px at its input and under 0.5 at 40-50 px);
- motion: the pixels of a grey thumbnail (a quarter of the frame's width) that changed since the camera's previous
  analysed frame, grown by `margin` frame px, in connected blobs; a blob centred where the person of a face found
  last is (see person_box) is that person moving, which the face's region follows, and adds none;
- faces found on the previous frame (tracked faces) each get a region, first, where their person moved (and all
  of them every `redetect_seconds`, see FaceFinder): they are where faces are; a still face's last detection holds;
- at most `max_regions` a frame (faces first, then the largest motion); what is left over waits for later frames;
  where the motion blobs cover `whole_motion` of the frame or more (the picture itself moves), the whole frame at
  `whole_input` px instead of the motion regions and the sweep (which waits), and of the regions of the faces that
  pass sees (`whole_sees`): a person walking close to the camera moves a third of the frame, and the small faces
  elsewhere keep their regions;
- a sweep: the frame cut into squares of the sweep side (overlapping by `sweep_overlap` of the side), plus the whole
  frame at `whole_input` px, visited a few per frame so that the whole frame is covered every `sweep_seconds`; each
  camera starts at another place of the sweep (`phase`), so that the cameras do not sweep together. From a
  camera's first frame (and the first of a new frame size), a start sweep goes over all of it at `start_scale`,
  `start_max` squares a frame: a face standing still from the start is found within a second, the smallest too, not
  up to `sweep_seconds` later, or never where the 1x sweep shows it too small (220 squares and the whole pass at
  1080p: 4 frames of 0.05-0.2 s more);
- zones: what lies outside the watched area (no zone, or an ignored one; see `watched_mask`) is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from maskwatch.core.media import grey_thumbnail

BoxLike = Sequence[float] | np.ndarray  # x1, y1, x2, y2
PIXEL_DELTA = 12  # grey levels a thumbnail pixel must change by to count as motion (as analysis.motion)
# px at the detector's input: a region that sees a face smaller than this has not looked at it (the detector misses
# faces that small often: 57 % at 16 px, 12 % at 28 px, of 60 train faces)
SEEN_AT_INPUT = 28.0


@dataclass(frozen=True)
class RegionSettings:
    input_side: int = 256  # px at the detector's input of every region
    scales: tuple[float, ...] = (3.0, 2.0, 1.0, 0.5)  # the regions' scales, finest first: sides input_side / scale
    # px at the detector's input of a face's region (0: input_side): a face needs less room around it than motion,
    # so its region can be smaller at the same scale (a quarter of the pixels at 128 against 256)
    face_input: int = 0
    face_room: float = 2.4  # a face's region side is this many times the face (within the scales below)
    face_scale_max: float = 3.0  # a face's region is enlarged at most this much (a face of 10 px becomes 30 px)
    face_scale_min: float = 0.25  # and shrunk at most this much
    margin: int = 24  # frame px motion blobs are grown by
    max_regions: int = 8  # regions per frame at most, sweep not counted
    sweep_scale: float = 1.0  # the sweep's squares: input_side / sweep_scale frame px
    sweep_overlap: float = 0.25  # share of the sweep side neighbouring squares overlap by
    sweep_seconds: float = 10.0  # the sweep covers the whole frame once in this time; 0: no sweep
    sweep_max: int = 3  # sweep squares a frame at most (a camera analysed less often than planned sweeps slower)
    # from a camera's first frame, the whole frame is swept once at this scale (2x: a 12-px face is 24 px at the
    # detector's input, where it is found; at the sweep's 1x it scores under 0.02): faces still from the start
    start_scale: float = 2.0
    start_max: int = 64  # start-sweep squares a frame at most (1080p: 220 squares and the whole pass in 4 frames)
    whole_input: int = 640  # the sweep's whole-frame pass: the long side at the input (for large faces); 0: none
    # the motion thumbnail is the frame shrunk by this whole factor (a whole factor is 3x faster to shrink than
    # another; 1080p: 480 px wide, small people still move a pixel of it between analysed frames)
    thumb_factor: int = 4
    min_blob: int = 2  # thumbnail px a motion blob needs (smaller is noise)
    whole_motion: float = 0.3  # share of the frame in motion blobs from which the whole frame is detected instead
    # px at the input: a face smaller than this in the whole-frame pass still gets its region (0: none does)
    whole_sees: float = SEEN_AT_INPUT

    def __post_init__(self) -> None:
        if not self.scales or list(self.scales) != sorted(self.scales, reverse=True) or self.scales[-1] <= 0:
            raise ValueError("scales must be positive and descending")
        if not 0 < self.face_scale_min <= self.face_scale_max:
            raise ValueError("face_scale_min must be positive and at most face_scale_max")
        if not 0 <= self.sweep_overlap < 1:
            raise ValueError("sweep_overlap must be in 0..1")
        if self.start_max < 1:
            raise ValueError("start_max must be at least 1")

    @property
    def sides(self) -> tuple[int, ...]:
        """Frame px of a region's side at each scale, finest first."""
        return tuple(round(self.input_side / scale) for scale in self.scales)

    @property
    def face_input_side(self) -> int:
        return self.face_input or self.input_side

    @property
    def sweep_side(self) -> int:
        return round(self.input_side / self.sweep_scale)


@dataclass(frozen=True)
class Region:
    """A square of the frame (x1, y1, x2, y2 in frame px) to detect at `scale`; kind: face, motion, sweep or
    whole (the whole frame: not square)."""

    box: tuple[int, int, int, int]
    scale: float
    kind: str

    @property
    def side(self) -> int:
        return self.box[2] - self.box[0]


def motion_boxes(
    previous: np.ndarray,
    thumb: np.ndarray,
    frame_shape: tuple[int, int],
    margin: int,
    watched: np.ndarray | None = None,
    min_blob: int = 2,
) -> np.ndarray:
    """(K, 4) frame-px boxes of the blobs that changed between two thumbnails (grown by margin, within the frame),
    largest first; `watched`: a thumbnail-size mask outside which motion does not count."""
    if previous.shape != thumb.shape:
        return np.zeros((0, 4), np.int64)
    moved = cv2.absdiff(previous, thumb) > PIXEL_DELTA
    if watched is not None:
        moved &= watched
    changed = cv2.dilate(moved.astype(np.uint8), np.ones((3, 3), np.uint8))  # a person's moving edges: one blob
    count, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    h, w = frame_shape
    fx, fy = w / thumb.shape[1], h / thumb.shape[0]
    boxes = []
    for x, y, bw, bh, area in stats[1:count]:
        if area < min_blob:
            continue
        boxes.append(
            [
                max(0, math.floor(x * fx) - margin),
                max(0, math.floor(y * fy) - margin),
                min(w, math.ceil((x + bw) * fx) + margin),
                min(h, math.ceil((y + bh) * fy) + margin),
            ]
        )
    out = np.array(boxes, np.int64).reshape(-1, 4)
    return out[np.argsort(-np.prod(out[:, 2:] - out[:, :2], axis=1), kind="stable")]


def moved_share(boxes: np.ndarray, frame_shape: tuple[int, int]) -> float:
    """The share of the frame that the boxes cover (their union)."""
    if len(boxes) == 0:
        return 0.0
    cell = 8  # counted on a grid of 8 px cells: a frame-size mask would cost more than the answer is worth
    covered = np.zeros((-(-frame_shape[0] // cell), -(-frame_shape[1] // cell)), bool)
    for x1, y1, x2, y2 in boxes:
        covered[y1 // cell : -(-y2 // cell), x1 // cell : -(-x2 // cell)] = True
    return float(covered.mean())


def square_around(box: BoxLike, side: int, frame_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """A side x side square centred on box, moved inside the frame (side at most the frame's shorter side)."""
    h, w = frame_shape
    side = min(side, h, w)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x1 = int(min(max(0, round(cx - side / 2)), w - side))
    y1 = int(min(max(0, round(cy - side / 2)), h - side))
    return x1, y1, x1 + side, y1 + side


def side_for_face(face_size: float, settings: RegionSettings) -> int:
    """Frame px of the side of a face's region: face_room times the face, within the face scales' bounds."""
    finest = round(settings.face_input_side / settings.face_scale_max)
    coarsest = round(settings.face_input_side / settings.face_scale_min)
    return int(min(coarsest, max(finest, math.ceil(settings.face_room * face_size))))


def side_for_blob(box: BoxLike, settings: RegionSettings) -> int:
    extent = max(box[2] - box[0], box[3] - box[1])
    return next((side for side in settings.sides if side >= extent), settings.sides[-1])


def squares_over(box: Sequence[int], side: int, frame_shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Squares of `side` covering a box larger than one square (evenly spread, overlapping)."""
    x1, y1, x2, y2 = box
    nx, ny = max(1, math.ceil((x2 - x1) / side)), max(1, math.ceil((y2 - y1) / side))
    xs = np.linspace(x1 + side / 2, x2 - side / 2, nx) if nx > 1 else [(x1 + x2) / 2]
    ys = np.linspace(y1 + side / 2, y2 - side / 2, ny) if ny > 1 else [(y1 + y2) / 2]
    return [square_around((cx, cy, cx, cy), side, frame_shape) for cy in ys for cx in xs]


def person_box(face: BoxLike) -> tuple[float, float, float, float]:
    """Where the person of a face is: a face's width either side, a little above, the body three faces below."""
    w, h = face[2] - face[0], face[3] - face[1]
    return face[0] - w, face[1] - 0.7 * h, face[2] + w, face[3] + 3 * h


def _near(box: BoxLike, others: np.ndarray) -> bool:
    """Whether box overlaps any of the others."""
    if len(others) == 0:
        return False
    return bool(
        np.any((others[:, 0] < box[2]) & (others[:, 2] > box[0]) & (others[:, 1] < box[3]) & (others[:, 3] > box[1]))
    )


def _inside(box: BoxLike, square: BoxLike) -> bool:
    return box[0] >= square[0] and box[1] >= square[1] and box[2] <= square[2] and box[3] <= square[3]


def sweep_grid(frame_shape: tuple[int, int], side: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Squares of `side` covering the frame, neighbours overlapping by at least `overlap` of the side, row by row."""
    h, w = frame_shape
    side = min(side, h, w)
    step = max(1, math.floor(side * (1 - overlap)))
    starts = []
    for length in (w, h):
        count = max(1, math.ceil((length - side) / step) + 1)
        starts.append([round(i * (length - side) / (count - 1)) if count > 1 else 0 for i in range(count)])
    return [(x, y, x + side, y + side) for y in starts[1] for x in starts[0]]


def watched_mask(zones: Sequence, shape: tuple[int, int]) -> np.ndarray | None:
    """A (h, w) mask of the frame (any size, e.g. a thumbnail's) where a face would be looked at: inside a zone
    that is not ignored (the first zone holding a point is its zone, as in the rules). None: no zones, all of it.
    zones: objects with .polygon ((K, 2) relative coordinates) and .ignore."""
    if not zones:
        return None
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    for zone in reversed(list(zones)):  # the first zone wins: drawn last
        points = np.round(np.asarray(zone.polygon, np.float64) * [w, h]).astype(np.int32)
        cv2.fillPoly(mask, [points.reshape(-1, 1, 2)], 0 if zone.ignore else 1)
    return mask.astype(bool)


def _touches(square: BoxLike, watched: np.ndarray | None, frame_shape: tuple[int, int]) -> bool:
    if watched is None:
        return True
    h, w = frame_shape
    mh, mw = watched.shape
    x1, y1 = int(square[0] * mw / w), int(square[1] * mh / h)
    x2, y2 = max(x1 + 1, math.ceil(square[2] * mw / w)), max(y1 + 1, math.ceil(square[3] * mh / h))
    return bool(watched[y1:y2, x1:x2].any())


@dataclass
class RegionPlanner:
    """One camera's region plan, frame after frame. phase: 0..1, where in its sweep this camera starts."""

    settings: RegionSettings = field(default_factory=RegionSettings)
    phase: float = 0.0
    watched: np.ndarray | None = None  # motion-thumbnail-size mask (see watched_mask); None: the whole frame
    zones: Sequence = ()
    previous: np.ndarray | None = None  # the last frame's motion thumbnail
    swept_at: float | None = None  # time up to which the sweep is done
    start_left: list[Region] = field(default_factory=list)  # the start sweep's regions still to be detected
    sweep_pos: float = 0.0  # sweep squares visited so far (fractional)
    _shape: tuple[int, int] | None = None

    def set_zones(self, zones: Sequence) -> None:
        """Zones of the camera (objects with .polygon and .ignore); applied from the next frame."""
        self.zones, self._shape = list(zones), None

    def restart(self) -> None:
        """Plan the next frame as a camera's first (its motion, sweeps and start sweep anew): the source was opened
        again, and what it shows may have changed while it was away."""
        self._shape = None

    def plan(
        self,
        image: np.ndarray,
        at: float,
        faces: np.ndarray,
        refresh: bool = True,
        thumb: np.ndarray | None = None,
        probes: np.ndarray | None = None,
    ) -> list[Region]:
        """The regions to detect in this frame (time `at`), given the boxes of the faces found last (frame px).
        refresh: every face gets its region; otherwise only those whose person moved (the others stand still:
        their last detection holds). thumb: the frame's grey_thumbnail at settings.thumb_factor, where made already.
        probes: boxes that get a face's region whether they moved or not (faces seen too small last time)."""
        s, frame_shape = self.settings, (image.shape[0], image.shape[1])
        thumb = grey_thumbnail(image, s.thumb_factor) if thumb is None else thumb
        if self._shape != frame_shape:
            self._shape, self.previous, self.swept_at, self.start_left = frame_shape, None, None, []
            self.watched = watched_mask(self.zones, thumb.shape[:2])
        previous, self.previous = self.previous, thumb
        moving = (
            motion_boxes(previous, thumb, frame_shape, s.margin, self.watched, s.min_blob)
            if previous is not None
            else np.zeros((0, 4), np.int64)
        )
        h, w = frame_shape
        faces = np.asarray(faces, np.float64).reshape(-1, 4)
        if not refresh:
            faces = faces[[_near(person_box(face), moving) for face in faces]]
        if probes is not None and len(probes):
            faces = np.concatenate([faces, np.asarray(probes, np.float64).reshape(-1, 4)])
        if s.whole_input > 0 and moved_share(moving, frame_shape) >= s.whole_motion:
            # the whole picture moves (camera shake, light, a zoom): one whole-frame pass, and regions for the faces
            # too small for it
            whole = Region((0, 0, w, h), s.whole_input / max(h, w), "whole")
            sizes = np.maximum(faces[:, 2] - faces[:, 0], faces[:, 3] - faces[:, 1])
            small = faces[sizes * whole.scale < s.whole_sees]
            if self.swept_at is not None:
                self.swept_at = at  # the sweep waits while the picture moves: the whole pass looks at all of it now
            return [*self.around(small, np.zeros((0, 4), np.int64), frame_shape), whole]
        return self.around(faces, moving, frame_shape) + self.sweep(at, frame_shape)

    def around(self, faces: np.ndarray, moving: np.ndarray, frame_shape: tuple[int, int]) -> list[Region]:
        """Regions around the faces (first), then around the motion blobs, at most max_regions; a box already
        inside a chosen region of a side that suits it adds none."""
        s = self.settings
        chosen: list[Region] = []
        wanted: list[tuple[BoxLike, int, str]] = [
            (box, side_for_face(max(box[2] - box[0], box[3] - box[1]), s), "face")
            for box in np.asarray(faces, np.float64).reshape(-1, 4)
            if _touches(box, self.watched, frame_shape)
        ]
        people = [person_box(box) for box, _, _ in wanted]
        for box in moving:
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            if not any(p[0] <= cx <= p[2] and p[1] <= cy <= p[3] for p in people):
                wanted.append((box, side_for_blob(box, s), "motion"))
        for box, side, kind in wanted:
            if any(r.side <= side and _inside(box, r.box) for r in chosen):
                continue
            if kind == "motion" and max(box[2] - box[0], box[3] - box[1]) > side:
                squares = squares_over([int(v) for v in box], side, frame_shape)
            else:
                squares = [square_around(box, side, frame_shape)]
            for square in squares:
                if len(chosen) >= s.max_regions:
                    return chosen
                if _touches(square, self.watched, frame_shape):
                    at_input = s.face_input_side if kind == "face" else s.input_side
                    chosen.append(Region(square, at_input / (square[2] - square[0]), kind))
        return chosen

    def sweep(self, at: float, frame_shape: tuple[int, int]) -> list[Region]:
        """The sweep's regions due by time `at`: the grid's squares (and the whole frame) a few at a time; from the
        first frame, the start sweep's too (squares at start_scale, start_max a frame)."""
        s = self.settings
        if s.sweep_seconds <= 0:
            return []
        h, w = frame_shape
        whole = [Region((0, 0, w, h), s.whole_input / max(h, w), "whole")] if s.whole_input > 0 else []
        steps = self._squares(frame_shape, s.sweep_side) + whole
        if self.swept_at is None:  # the first frame: the camera's phase, and the start sweep (the whole pass first)
            self.swept_at, self.sweep_pos = at, self.phase * len(steps)
            side = round(s.input_side / max(s.start_scale, s.sweep_scale))
            self.start_left = whole + self._squares(frame_shape, side)
        started, self.start_left = self.start_left[: s.start_max], self.start_left[s.start_max :]
        due = (at - self.swept_at) / s.sweep_seconds * len(steps)
        self.swept_at = at
        start = math.floor(self.sweep_pos)
        self.sweep_pos = min(self.sweep_pos + max(0.0, due), start + s.sweep_max)  # behind: the sweep slows down
        return started + [steps[i % len(steps)] for i in range(start, math.floor(self.sweep_pos))]

    def _squares(self, frame_shape: tuple[int, int], side: int) -> list[Region]:
        """The sweep grid of squares of `side` that touch the watched area."""
        s = self.settings
        return [
            Region(square, s.input_side / (square[2] - square[0]), "sweep")
            for square in sweep_grid(frame_shape, side, s.sweep_overlap)
            if _touches(square, self.watched, frame_shape)
        ]
