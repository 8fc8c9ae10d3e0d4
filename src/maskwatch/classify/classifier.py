"""Mask classifier on ONNX Runtime: face crops in, probabilities over CLASSES out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from maskwatch.classify.crop import CROP_MARGIN, CROP_SIZE, face_crops
from maskwatch.core.detections import Detections
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.core.paths import MODELS_DIR
from maskwatch.core.runtime import make_session

DEFAULT_MODEL = MODELS_DIR / "mask_classifier.onnx"
INT8_MODEL = MODELS_DIR / "mask_classifier_int8.onnx"
# The fast mode's classifier, a fraction of the shipped one's cost per face: a lighter network trained on the same split
# (`maskwatch train --light-for`), or the first network of one that averages several (`train --members`). Its
# metadata's `light_for` is the SHA-256 of the classifier it stands in for.
LIGHT_MODEL = MODELS_DIR / "mask_classifier_light.onnx"


def default_model() -> Path:
    """The INT8 classifier where one was made from the shipped FP32 one (it ships only when it passes the speed and
    accuracy bar: see docs/performance.md); the FP32 model otherwise, e.g. after retraining without re-quantising."""
    return INT8_MODEL if _made_from(INT8_MODEL, "fp32_sha256", DEFAULT_MODEL) else DEFAULT_MODEL


def float_model(path: Path) -> Path:
    """The FP32 file an INT8 copy was made from where `path` is the shipped copy of the shipped file, for a backend
    that runs float graphs only (the PyTorch one); `path` itself otherwise."""
    int8 = Path(path) == INT8_MODEL and _made_from(INT8_MODEL, "fp32_sha256", DEFAULT_MODEL)
    return DEFAULT_MODEL if int8 else Path(path)


def light_model() -> Path:
    """The light classifier where it stands in for the FP32 file that ships now (an INT8 copy of that file beside it
    does not change that); default_model() otherwise (none made, or the shipped classifier retrained or promoted
    since, so that a fast run never labels with an older model)."""
    return LIGHT_MODEL if _made_from(LIGHT_MODEL, "light_for", DEFAULT_MODEL) else default_model()


def _made_from(copy: Path, key: str, source: Path) -> bool:
    """Whether a model made for another (its quantised copy, or its light stand-in) names, under metadata `key`,
    the SHA-256 of `source` as it is now: a copy of an older file is not used."""
    if not (copy.is_file() and source.is_file()):
        return False
    return onnx_metadata(copy).get(key) == hashlib.sha256(source.read_bytes()).hexdigest()


def model_version(path: Path) -> str:
    """What names a classifier in events and metrics: its file stem and the first 8 hex digits of its SHA-256, so
    that two models saved under the same name still differ ("mask_classifier-1a2b3c4d")."""
    return f"{path.stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}"


def onnx_metadata(path: Path) -> dict[str, str]:
    return make_session(path).get_modelmeta().custom_metadata_map


def _check_contract(session: ort.InferenceSession, model_path: Path) -> None:
    """One NHWC image input and per-class scores out, as `maskwatch train` exports; anything else (the face
    detector's file given by mistake, say) is refused here rather than failing on the first crop."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    shape_in = inputs[0].shape if len(inputs) == 1 else []
    shape_out = outputs[0].shape if outputs else []
    n_out = shape_out[1] if len(shape_out) == 2 and isinstance(shape_out[1], int) else None
    channels = shape_in[3] if len(shape_in) == 4 and isinstance(shape_in[3], int) else None  # None: unknown or named
    if len(shape_in) != 4 or channels not in (None, 3) or len(shape_out) != 2 or n_out not in (None, len(CLASSES)):
        given = ", ".join(str([d if isinstance(d, int) else "?" for d in i.shape]) for i in inputs)
        raise UserError(
            f"{model_path}: not a mask classifier: it takes {given}, not one [N, S, S, 3] BGR batch "
            f"giving [N, {len(CLASSES)}] class probabilities"
        )


class MaskClassifier:
    def __init__(
        self, model_path: str | Path | None = None, providers: str | list[str] = "cpu", threads: int | None = None
    ):
        model_path = Path(model_path) if model_path else default_model()
        if not model_path.is_file():
            raise UserError(f"classifier model not found: {model_path}")
        self.session = make_session(model_path, providers, threads)
        _check_contract(self.session, model_path)
        meta = self.session.get_modelmeta().custom_metadata_map
        classes = tuple(meta.get("classes", ",".join(CLASSES)).split(","))
        if classes != CLASSES:
            raise UserError(f"{model_path}: model classes {classes} differ from {CLASSES}")
        size = meta.get("input_size", self.session.get_inputs()[0].shape[1])
        if not str(size).isdigit():
            raise UserError(f"{model_path}: input size unknown (a named side and no input_size metadata)")
        self.input_size = int(size)
        self.crop_margin = float(meta.get("crop_margin", CROP_MARGIN))
        self.input_name = self.session.get_inputs()[0].name
        self.model_path = model_path
        self.version = model_version(model_path)

    def predict(self, crops: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """(N, 3) probabilities for BGR uint8 face crops of any square size."""
        if len(crops) == 0:
            return np.zeros((0, len(CLASSES)), np.float32)
        s = self.input_size
        batch = np.stack(
            [c if c.shape[:2] == (s, s) else cv2.resize(c, (s, s), interpolation=cv2.INTER_AREA) for c in crops]
        )
        return self.session.run(None, {self.input_name: batch.astype(np.float32)})[0]

    def crops(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Cut at CROP_SIZE, as the training crops were; predict() then resizes them to the model's input."""
        return face_crops(image, boxes, size=CROP_SIZE, margin=self.crop_margin)

    def classify(self, image: np.ndarray, detections: Detections) -> Detections:
        """The same detections with class_probs filled in."""
        detections.class_probs = self.predict(self.crops(image, detections.xyxy))
        return detections
