"""Bias audit: every figure of `evaluate voc` and `evaluate crops` per subgroup of faces.

Four subgroups, each a list of bins (docs/model.md, "Subgroups (bias audit)", says why these edges):

- face_size: the ground-truth box's longer side in the photo, px: <16, 16-32, 32-64, 64-128, >=128.
- brightness: the face's mean luma (BT.601 grey, 0..255) inside the ground-truth box: dark < 70, dim 70-110,
  normal 110-160, bright >= 160 (the train crops' 10th / 50th / 90th percentiles are 72 / 110 / 156).
- pose: the yaw read from the detector's five landmarks (the nose's offset from the eyes' midpoint along the eye
  line, over the eye distance): frontal < 0.12 (about 20 degrees), three_quarter < 0.35 (about 45), profile
  beyond; unknown where the face has no matched detection with landmarks.
- mask_colour (faces labelled `mask` only): the dominant colour of the box's lower face in HSV: white, light_blue,
  dark, other (one other hue dominates) or patterned (no colour covers half of it).

face_size, brightness and pose bins hold every (non-difficult) face of the set once, so their counts add up.
No skin tone, gender, age or ethnicity is estimated: the product infers no such attribute of anyone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from maskwatch.core.detections import BoxLike
from maskwatch.core.labels import UNMASKED

FACE_SIZE_BINS = (("<16", 0, 16), ("16-32", 16, 32), ("32-64", 32, 64), ("64-128", 64, 128), (">=128", 128, math.inf))
BRIGHTNESS_BINS = (("dark", 0, 70), ("dim", 70, 110), ("normal", 110, 160), ("bright", 160, math.inf))
FRONTAL_YAW, PROFILE_YAW = 0.12, 0.35  # |nose offset| / eye distance
POSE_BINS = ("frontal", "three_quarter", "profile", "unknown")
MASK_COLOURS = ("white", "light_blue", "dark", "patterned", "other")
SUBGROUPS = ("face_size", "brightness", "pose", "mask_colour")
MIN_BIN_FACES = 30  # a bin smaller than this is reported but not named the worst
# The lower face inside a face box (fractions of its width and height) where a worn mask is.
LOWER_FACE = (0.2, 0.55, 0.8, 0.95)
DOMINANT_SHARE = 0.5


@dataclass
class FaceOutcome:
    """One ground-truth face: its label, what the system said, and what places it in a subgroup."""

    label: str
    said: str | None  # predicted label; None where no detection matched the face
    detected: bool | None  # None where nothing was detected (crops are classified as given)
    face_px: float
    brightness: float
    yaw: float = math.nan  # NaN: no landmarks
    mask_colour: str | None = None  # for faces labelled mask


# ---- what places a face --------------------------------------------------------------------------------


def _region(image: np.ndarray, box: BoxLike, fractions: tuple[float, float, float, float]) -> np.ndarray:
    """Pixels of the part of `box` given as fractions (fx1, fy1, fx2, fy2) of it, clipped to the image."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    w, h = x2 - x1, y2 - y1
    h_img, w_img = image.shape[:2]
    left, right = int(max(0, round(x1 + fractions[0] * w))), int(min(w_img, round(x1 + fractions[2] * w)))
    top, bottom = int(max(0, round(y1 + fractions[1] * h))), int(min(h_img, round(y1 + fractions[3] * h)))
    return image[top:bottom, left:right]


def face_luma(image: np.ndarray, box: BoxLike) -> float:
    """Mean BT.601 luma (OpenCV grey) of a BGR image inside the box; NaN where the box holds no pixel."""
    pixels = _region(image, box, (0.0, 0.0, 1.0, 1.0))
    if pixels.size == 0:
        return math.nan
    return float(cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_BGR2GRAY).mean())


def yaw_ratio(landmarks: np.ndarray | Sequence[Sequence[float]] | None) -> float:
    """|Nose offset from the eyes' midpoint along the eye line| / eye distance, from RetinaFace's five points
    (eye, eye, nose, mouth corner, mouth corner): 0 frontal, ~0.35 at 45 degrees; NaN without usable points."""
    if landmarks is None:
        return math.nan
    points = np.asarray(landmarks, np.float64).reshape(-1, 2)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        return math.nan
    eye_line = points[1] - points[0]
    eye_distance = float(np.hypot(*eye_line))
    if eye_distance < 1e-6:
        return math.nan
    offset = float(np.dot(points[2] - (points[0] + points[1]) / 2, eye_line / eye_distance))
    return abs(offset) / eye_distance


def pose_bin(yaw: float) -> str:
    if not math.isfinite(yaw):
        return "unknown"
    return "frontal" if yaw < FRONTAL_YAW else "three_quarter" if yaw < PROFILE_YAW else "profile"


def _colour_classes(hsv: np.ndarray) -> np.ndarray:
    """Per pixel: 0 white, 1 light blue, 2 dark, 3.. one of six 30-degree hue sectors of any other colour."""
    hue, sat, val = (hsv[..., k].astype(np.int32) for k in range(3))
    classes = 3 + hue // 30  # OpenCV hue is 0..179
    classes = np.where((val < 90) | ((sat < 40) & (val < 130)), 2, classes)
    classes = np.where((sat < 40) & (val >= 130), 0, classes)
    # pale blue to lavender surgical masks are barely saturated: a blue cast wins over white
    return np.where((hue >= 85) & (hue <= 130) & (sat >= 25) & (val >= 100), 1, classes)


def mask_colour(image: np.ndarray, box: BoxLike) -> str:
    """The dominant colour of the lower face (LOWER_FACE of the box): white, light_blue, dark or other where one
    class covers DOMINANT_SHARE of it; light_blue where pale blue and white together cover 60 % with at least a
    quarter blue (a surgical mask's highlights read white); else patterned."""
    pixels = _region(image, box, LOWER_FACE)
    if pixels.size == 0:
        return "other"
    classes = _colour_classes(cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_BGR2HSV)).ravel()
    share = np.bincount(classes, minlength=9) / classes.size
    top = int(share.argmax())
    if share[top] >= DOMINANT_SHARE:
        return ("white", "light_blue", "dark")[top] if top < 3 else "other"
    if share[0] + share[1] >= 0.6 and share[1] >= 0.25:
        return "light_blue"
    return "patterned"


def face_size_bin(face_px: float) -> str:
    if not math.isfinite(face_px):
        return "unknown"
    return next(name for name, _, hi in FACE_SIZE_BINS if face_px < hi)


def brightness_bin(luma: float) -> str:
    if not math.isfinite(luma):
        return "unknown"
    return next(name for name, _, hi in BRIGHTNESS_BINS if luma < hi)


# ---- figures per bin -----------------------------------------------------------------------------------


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else math.nan


def bin_figures(name: str, faces: Sequence[FaceOutcome]) -> dict:
    """The figures of one bin. face_recall: faces matched by a detection at the operating score (None for crops,
    which are classified as given); unmasked_recall: no_mask/incorrect faces called no_mask/incorrect, over all
    such faces (undetected ones count as missed); mask_false_alarm: masked faces called unmasked, over the masked
    faces detected; accuracy: the label right, over the faces detected."""
    detected = [f for f in faces if f.said is not None]
    unmasked = [f for f in faces if f.label in UNMASKED]
    masked_seen = [f for f in detected if f.label == "mask"]
    has_detection = any(f.detected is not None for f in faces)
    return {
        "bin": name,
        "faces": len(faces),
        "face_recall": _ratio(len(detected), len(faces)) if has_detection else None,
        "detected": len(detected),
        "unmasked": len(unmasked),
        "unmasked_recall": _ratio(sum(f.said in UNMASKED for f in unmasked), len(unmasked)),
        "masked_detected": len(masked_seen),
        "mask_false_alarm": _ratio(sum(f.said in UNMASKED for f in masked_seen), len(masked_seen)),
        "accuracy": _ratio(sum(f.said == f.label for f in detected), len(detected)),
    }


def _bins(outcomes: Sequence[FaceOutcome], bin_of: dict[int, str], names: Sequence[str]) -> list[dict]:
    """Figures of every named bin that holds a face, in the order of `names`."""
    return [
        bin_figures(name, members)
        for name in names
        if (members := [f for k, f in enumerate(outcomes) if bin_of.get(k) == name])
    ]


def subgroup_table(outcomes: Sequence[FaceOutcome]) -> dict[str, list[dict]]:
    """{"face_size": [bins], "brightness": [...], "pose": [...], "mask_colour": [...]} over the faces."""
    size = {k: face_size_bin(f.face_px) for k, f in enumerate(outcomes)}
    light = {k: brightness_bin(f.brightness) for k, f in enumerate(outcomes)}
    pose = {k: pose_bin(f.yaw) for k, f in enumerate(outcomes)}
    colour = {k: f.mask_colour for k, f in enumerate(outcomes) if f.label == "mask" and f.mask_colour}
    return {
        "face_size": _bins(outcomes, size, [*(b[0] for b in FACE_SIZE_BINS), "unknown"]),
        "brightness": _bins(outcomes, light, [*(b[0] for b in BRIGHTNESS_BINS), "unknown"]),
        "pose": _bins(outcomes, pose, POSE_BINS),
        "mask_colour": _bins(outcomes, colour, MASK_COLOURS),
    }


# which count a figure is a share of, and whether lower is worse
FIGURES = {
    "face_recall": ("faces", True),
    "unmasked_recall": ("unmasked", True),
    "mask_false_alarm": ("masked_detected", False),
    "accuracy": ("detected", True),
}


def worst_bins(subgroups: dict[str, list[dict]], overall: dict, min_faces: int = MIN_BIN_FACES) -> list[dict]:
    """Per figure, the bin furthest on the wrong side of the overall figure among bins whose count behind the
    figure is at least min_faces, "unknown" bins left out (a face without a detection has no pose, so that bin's
    face recall is 0 by construction): {"figure", "overall", "subgroup", "bin", "value", "n", "gap"} (gap in the
    figure's unit, negative = worse)."""
    worst = []
    for figure, (count, higher_is_better) in FIGURES.items():
        total = overall.get(figure)
        if total is None or not math.isfinite(total):
            continue
        candidates = [
            (group, b)
            for group, bins in subgroups.items()
            for b in bins
            if b["bin"] != "unknown"
            and b.get(figure) is not None
            and math.isfinite(b[figure])
            and b[count] >= min_faces
        ]
        if not candidates:
            continue
        sign = 1 if higher_is_better else -1
        group, b = min(candidates, key=lambda gb: sign * gb[1][figure])
        gap = sign * (b[figure] - total)
        worst.append(
            {"figure": figure, "overall": total, "subgroup": group, "bin": b["bin"], "value": b[figure]}
            | {"n": b[count], "gap": gap}
        )
    return worst


def subgroup_report(outcomes: Sequence[FaceOutcome]) -> dict:
    """What metrics.json carries: "subgroups", "subgroup_overall" (the same figures over all faces) and
    "subgroup_worst" (worst_bins)."""
    table = subgroup_table(outcomes)
    overall = bin_figures("all", outcomes)
    return {"subgroups": table, "subgroup_overall": overall, "subgroup_worst": worst_bins(table, overall)}
