"""`detector:` the face detector and mask classifier every camera's frames go through."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from maskwatch.config.base import Strict


class DetectorConfig(Strict):
    """The models and where they run. One pipeline serves all cameras."""

    input_size: int = Field(
        640,
        ge=128,
        le=2048,
        description="pixels: the frame's long side is scaled to this for face detection; larger finds smaller faces "
        "and costs more time",
    )
    min_score: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="detector score (0..1) a face needs to be tracked, classified and alerted on",
    )
    providers: Literal["cpu", "cuda", "openvino"] = Field(
        "cpu",
        description="where the models run: cpu, cuda (an NVIDIA GPU; onnxruntime-gpu, or torch) or openvino "
        "(onnxruntime-openvino); one that is not installed falls back to cpu with a warning",
    )
    backend: Literal["onnxruntime", "torch"] = Field(
        "onnxruntime",
        description="onnxruntime: the ONNX models in ONNX Runtime; torch: the PyTorch backend (maskwatch[gpu]), on "
        "the GPU with providers: cuda. Both batch the frames, or the planned regions, of all cameras",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads each model may use (onnxruntime); they sleep between runs instead of spinning, which "
        "leaves the cores to the camera decoders; unset: the machine's cores, at most 4",
    )
    model: str = Field(
        "retinaface_mnet025_ft",
        description="face detector: a shipped model's name (retinaface_mnet025_ft: fine-tuned on face-mask photos, "
        "finds more masked faces; retinaface_mnet025: as published) or the path of a RetinaFace ONNX file",
    )
    classifier: Path | None = Field(
        None,
        description="an ONNX mask classifier to use instead of the shipped one (e.g. one from `maskwatch train`), "
        "relative to the config file's folder; unset: the shipped one, in INT8 (models/mask_classifier_int8.onnx) "
        "where that copy was made from models/mask_classifier.onnx, else that file",
    )
    motion_threshold: float = Field(
        0.002,
        ge=0,
        le=1,
        description="motion gating: fraction (0..1) of a small grey copy's pixels that must change since the last "
        "detection to detect again; on still frames the last faces are kept (tracked and judged again); 0: detect "
        "every analysed frame",
    )
    redetect_seconds: float = Field(
        1.0, gt=0, description="seconds: a still camera is still detected at least this often"
    )
    regions: bool = Field(
        True,
        description="detect in regions (squares around motion and around the faces found last, at a resolution that "
        "suits their faces: squares at 3x, 2x, 1x or 0.5x, see region_input) and sweep the whole frame a few squares "
        "at a time, instead of the whole frame shrunk to input_size: finds 10-30 px faces in wide cameras; "
        "motion_threshold then does not apply (only moving or tracked parts are detected); false: the whole frame",
    )
    region_input: int = Field(
        256,
        ge=128,
        le=640,
        multiple_of=32,
        description="regions: px at the detector's input of every region; regions are squares of this size / 3, / 2, "
        "x 1 and x 2 frame px (detected at 3x, 2x, 1x, 0.5x); smaller is faster and finds fewer of the smallest faces",
    )
    region_face_input: int = Field(
        192,
        ge=0,
        le=640,
        multiple_of=32,
        description="regions: px at the detector's input of the region around a face found last (a square 2.4 "
        "times the face, so that faces of 27-320 px are 80 px at the input; smaller ones enlarged 3x, larger ones "
        "shrunk 4x): smaller than region_input, since a face needs less room than motion; smaller still loses faces "
        "the detector finds only larger; 0: region_input",
    )
    region_max: int = Field(
        8,
        ge=1,
        le=64,
        description="regions: at most this many a frame (faces found last first, then the largest motion)",
    )
    region_sweep_seconds: float = Field(
        10.0,
        ge=0,
        description="regions: seconds in which the sweep covers the whole frame once (squares of region_input px at "
        "1x and the whole frame at input_size), for faces that stand still; from a camera's first frame (and the first "
        "after a reconnect) a start sweep also goes over it once at 2x (1080p: within a second), for the smallest "
        "faces; 0: no sweep",
    )

    @field_validator("model")
    @classmethod
    def _known_detector(cls, name: str) -> str:
        from maskwatch.detect.models import MODELS

        if name not in MODELS and not name.lower().endswith(".onnx"):
            raise ValueError(f"must be one of {', '.join(MODELS)} or the path of an .onnx file, got {name!r}")
        return name
