"""Face crops for dataset building: the detector's box where it agrees with the annotation, cut with face_crop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from maskwatch.classify.crop import face_crop
from maskwatch.data.hashing import byte_hash, phash, upper_face
from maskwatch.data.importers import clip_boxes
from maskwatch.data.records import MIN_IMAGE_PX, AnnotatedImage, LabeledImage
from maskwatch.detect.anchors import greedy_match
from maskwatch.detect.single_face import most_confident_face

if TYPE_CHECKING:
    from maskwatch.detect.retinaface import RetinaFaceDetector

SCENE_INPUT_SIZE = 1024
MIN_SCORE = 0.3  # of the scene detector; class-folder images are searched with single_face's settings
MATCH_IOU = 0.4
NO_HASH = np.uint64(0)  # a hash not computed: dropped images, the image upper hash of scene images, the face upper
# hash of class-folder faces
JPEG_QUALITY = 95


@dataclass
class FaceRecord:
    label: str
    box: np.ndarray  # x1 y1 x2 y2 in the source image the crop was cut from (may extend outside it)
    face_px: float
    brightness: float
    jpeg: bytes
    upper_hash: np.uint64  # of the annotated box's crop, not the detector's (NO_HASH for class-folder faces)
    from_detector: bool


@dataclass
class ImageResult:
    index: int
    status: str  # "ok" or the reason the image was dropped
    sha1: str = ""
    phash: np.uint64 = NO_HASH
    # Class-folder images are tight face photos: a mask pasted onto one leaves the upper part of the frame as it
    # was, while the detector's box (and so the crop) can shift with the mask. 0 for scene images.
    upper_phash: np.uint64 = NO_HASH
    faces: list[FaceRecord] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


def _face_record(
    image: np.ndarray, box: np.ndarray, label: str, from_detector: bool, hash_box: np.ndarray | None
) -> FaceRecord:
    """hash_box: the box the upper-face hash is cut from: the annotated one, never the detector's, whose float detail
    differs between machines (a box 1 px off changes most upper-face hashes by ~6 of 64 bits, and a join at the
    4-bit threshold with them); None: no face hash (class-folder images: their whole image's upper part is hashed)."""
    crop = face_crop(image, box)
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok
    box = np.asarray(box, np.float32)
    return FaceRecord(
        label,
        box,
        float(max(box[2] - box[0], box[3] - box[1])),
        float(grey.mean()),
        jpeg.tobytes(),
        phash(upper_face(face_crop(image, hash_box))) if hash_box is not None else NO_HASH,
        from_detector,
    )


def scene_faces(
    image: np.ndarray, item: AnnotatedImage, detector: RetinaFaceDetector, counts: Counter[str]
) -> list[FaceRecord]:
    """One crop per annotated box, from the matched detection's box, else from the annotated box."""
    h, w = image.shape[:2]
    boxes = item.boxes
    if (w, h) != (item.width, item.height):
        counts["size_mismatch"] += 1
        boxes, keep = clip_boxes(boxes, w, h)
        counts["tiny_box"] += int((~keep).sum())
        labels = [lab for lab, k in zip(item.labels, keep, strict=True) if k]
        boxes = boxes[keep]
    else:
        labels = item.labels
    if len(boxes) == 0:
        return []
    detections = detector.detect(image)
    match = greedy_match(boxes, detections.xyxy, MATCH_IOU)
    faces = []
    for box, label, j in zip(boxes, labels, match, strict=True):
        if j < 0:
            counts["box_fallback"] += 1
        faces.append(_face_record(image, detections.xyxy[j] if j >= 0 else box, label, j >= 0, box))
    return faces


def folder_face(
    image: np.ndarray, item: LabeledImage, attempts: Sequence[tuple[float, RetinaFaceDetector]], counts: Counter[str]
) -> list[FaceRecord]:
    """The most confident face of a class-folder image, found with context added by a replicated border."""
    found = most_confident_face(image, attempts)
    if found is None:
        counts["no_face"] += 1
        return []
    box, attempt = found
    if attempt:
        counts[f"face_on_attempt_{attempt + 1}"] += 1
    return [_face_record(image, box, item.label, True, None)]


def process_image(
    index: int,
    item: AnnotatedImage | LabeledImage,
    scene_detector: RetinaFaceDetector,
    crop_attempts: Sequence[tuple[float, RetinaFaceDetector]],
) -> ImageResult:
    """Read, check, hash and crop one image. Never raises for bad image data: the reason goes in status.
    crop_attempts: (padding fraction, detector) pairs for class-folder images, see single_face.ATTEMPTS."""
    try:
        data = item.path.read_bytes()
    except OSError:
        return ImageResult(index, "corrupt_image")
    result = ImageResult(index, "ok", byte_hash(data))
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None or image.size == 0:
        result.status = "corrupt_image"
        return result
    if min(image.shape[:2]) < MIN_IMAGE_PX:
        result.status = "tiny_image"
        return result
    result.phash = phash(image)
    if isinstance(item, AnnotatedImage):
        result.faces = scene_faces(image, item, scene_detector, result.counts)
    else:
        result.upper_phash = phash(upper_face(image))
        result.faces = folder_face(image, item, crop_attempts, result.counts)
    return result
