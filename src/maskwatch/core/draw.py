"""Drawing classified (and tracked) faces, the face an alert is about, and zones onto frames.

Labels are sized by the frame, not by the face, so that they stay readable on small faces, and are placed so that
they do not cover each other."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from maskwatch.core.detections import BoxLike, Detections
from maskwatch.core.labels import DISPLAY

Color = tuple[int, int, int]  # BGR
COLORS: dict[str | None, Color] = {
    "mask": (80, 200, 60),
    "no_mask": (40, 40, 230),
    "incorrect": (0, 160, 255),
    None: (200, 200, 200),
}
SHORT = {"mask": "mask", "no_mask": "no mask", "incorrect": "incorrect", None: "face"}
FONT = cv2.FONT_HERSHEY_SIMPLEX
DIM = 0.35  # the brightness left to faces an alert is not about


def text_size(image: np.ndarray) -> tuple[float, int]:
    """Font scale and stroke for labels on this frame: about 12 px high on a 640-px frame, 20 px at 1080p."""
    scale = float(np.clip(max(image.shape[:2]) / 1900, 0.42, 1.4))
    return scale, 1 if scale < 0.9 else 2


def line_width(image: np.ndarray) -> int:
    return max(1, round(max(image.shape[:2]) / 500))


def _ink(color: Color) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `color` (BGR)."""
    b, g, r = color
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 150 else (255, 255, 255)


class LabelPlacer:
    """Puts each label beside its box (above, below, then further off, left- or right-aligned) where it covers no
    label already placed and no other face (`faces`); where there is no such spot, the short text is tried, and
    then the label is left out (the box's colour still gives the label) unless it is `required`."""

    def __init__(self, image: np.ndarray, faces: Iterable[BoxLike] = ()):
        self.image = image
        self.scale, self.stroke = text_size(image)
        self.placed: list[tuple[int, int, int, int]] = []
        self.faces = [tuple(round(float(v)) for v in box) for box in faces]

    def draw(self, text: str, box: BoxLike, color: Color, short: str | None = None, required: bool = False) -> bool:
        for candidate in (text, short) if short else (text,):
            spot = self._spot(candidate, box)
            if spot is not None:
                self._put(candidate, spot, color)
                return True
        if required:
            self._put(text, self._spots(text, box)[0], color)
        return required

    def _spots(self, text: str, box: BoxLike) -> list[tuple[int, int, int, int]]:
        h, w = self.image.shape[:2]
        (tw, th), base = cv2.getTextSize(text, FONT, self.scale, self.stroke)
        lw, lh = tw + 6, th + base + 6
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        xs = [int(np.clip(x, 0, max(0, w - lw))) for x in (x1, x2 - lw)]
        ys = [y1 - lh - 1, y2 + 1, y1 - 2 * lh - 4, y2 + lh + 4, y1 - 3 * lh - 7, y2 + 2 * lh + 7]
        inside = [y for y in ys if 0 <= y <= h - lh] or [int(np.clip(ys[0], 0, max(0, h - lh)))]
        return [(x, y, x + lw, y + lh) for y in inside for x in xs]

    def _spot(self, text: str, box: BoxLike) -> tuple[int, int, int, int] | None:
        own = tuple(round(float(v)) for v in box)
        for rect in self._spots(text, box):
            if any(_overlap(rect, p) for p in self.placed):
                continue
            if any(_overlap(rect, f, gap=0) for f in self.faces if f != own):
                continue
            return rect
        return None

    def _put(self, text: str, rect: tuple[int, int, int, int], color: Color) -> None:
        x, y, x2, y2 = rect
        self.placed.append(rect)
        cv2.rectangle(self.image, (x, y), (x2, y2), color, -1)
        base = cv2.getTextSize(text, FONT, self.scale, self.stroke)[1]
        cv2.putText(self.image, text, (x + 3, y2 - 3 - base), FONT, self.scale, _ink(color), self.stroke, cv2.LINE_AA)


def _overlap(a: Sequence[int], b: Sequence[int], gap: int = 2) -> bool:
    """Two rectangles closer than `gap` pixels."""
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def draw_detections(image: np.ndarray, dets: Detections, copy: bool = True) -> np.ndarray:
    out = image.copy() if copy else image
    labels = dets.labels if dets.class_probs is not None else [None] * len(dets)
    scores, thickness = dets.scores, line_width(out)
    for box, label in zip(dets.xyxy.astype(int), labels, strict=True):
        cv2.rectangle(out, (box[0], box[1]), (box[2], box[3]), COLORS[label], thickness)
    placer = LabelPlacer(out, dets.xyxy)
    area = (dets.xyxy[:, 2] - dets.xyxy[:, 0]) * (dets.xyxy[:, 3] - dets.xyxy[:, 1])
    for i in np.argsort(-area, kind="stable"):  # the largest faces get their labels first
        text = f"{SHORT[labels[i]]} {scores[i]:.2f}"
        if dets.track_ids is not None and dets.track_ids[i] >= 0:
            text = f"#{dets.track_ids[i]} " + text
        placer.draw(text, dets.xyxy[i], COLORS[labels[i]], short=f"{scores[i]:.2f}")
    return out


def grown(box: BoxLike, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The box grown by `margin` of its size on each side (the region privacy hides), inside the frame."""
    x1, y1, x2, y2 = (float(v) for v in box)
    mw, mh = (x2 - x1) * margin, (y2 - y1) * margin
    return (
        max(0, int(x1 - mw)),
        max(0, int(y1 - mh)),
        min(width, int(np.ceil(x2 + mw))),
        min(height, int(np.ceil(y2 + mh))),
    )


def offender_text(label: str, confidence: float | None, track_id: int | None = None) -> str:
    text = DISPLAY.get(label, label) + (f" {confidence:.0%}" if confidence is not None else "")
    return f"#{track_id} {text}" if track_id is not None and track_id >= 0 else text


def mark_offenders(
    image: np.ndarray, boxes: np.ndarray | Sequence[BoxLike], offenders: dict[int, tuple[str, str]], margin: float
) -> np.ndarray:
    """The faces an alert is about (`offenders`: index in `boxes` -> (label, text)) outlined in their label's colour
    around the hidden region, with the text beside them; every other face in `boxes` dimmed. Faces stay as hidden
    as they were: only pixels around the marked faces and inside the others change. Changes `image` in place."""
    h, w = image.shape[:2]
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    marked = [grown(boxes[i], margin, w, h) for i in offenders]
    for i, box in enumerate(boxes):
        if i in offenders:
            continue
        x1, y1, x2, y2 = grown(box, margin, w, h)
        if x2 > x1 and y2 > y1:
            image[y1:y2, x1:x2] = (image[y1:y2, x1:x2] * DIM).astype(image.dtype)
    thickness = max(2, round(max(h, w) / 300))
    for (x1, y1, x2, y2), (label, _) in zip(marked, offenders.values(), strict=True):  # outside the hidden region
        cv2.rectangle(
            image, (x1 - thickness, y1 - thickness), (x2 + thickness - 1, y2 + thickness - 1), COLORS[label], thickness
        )
    placer = LabelPlacer(image, boxes)  # beside the outline, over no other face where there is room
    for (x1, y1, x2, y2), (label, text) in zip(marked, offenders.values(), strict=True):
        grown_box = (x1 - thickness, y1 - 2 * thickness, x2, y2 + 2 * thickness)
        placer.draw(text, grown_box, COLORS[label], required=True)
    return image


def draw_zone(
    image: np.ndarray,
    polygon_rel: np.ndarray | Sequence[Sequence[float]],
    name: str,
    restricted: bool,
    ignore: bool = False,
) -> np.ndarray:
    h, w = image.shape[:2]
    pts = (np.asarray(polygon_rel, np.float32) * [w, h]).astype(np.int32)
    color = (150, 150, 150) if ignore else (40, 40, 230) if restricted else (200, 160, 40)
    name = f"{name} (ignored)" if ignore else name
    cv2.polylines(image, [pts], True, color, max(1, round(max(h, w) / 600)), cv2.LINE_AA)
    cv2.putText(image, name, tuple(int(v) for v in pts[0]), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
    return image
