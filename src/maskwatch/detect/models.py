"""The face-detector models that ship, by name, and how a name or an ONNX path becomes a model file and its box
calibration (`detector.model` in the config, `--detector` on the command line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from maskwatch.core.errors import UserError
from maskwatch.core.paths import MODELS_DIR


@dataclass(frozen=True)
class DetectorModel:
    name: str
    path: Path
    calibration: Path  # box calibration fitted for this model's boxes (maskwatch calibrate-boxes)
    about: str


MODELS = {
    m.name: m
    for m in (
        DetectorModel(
            "retinaface_mnet025",
            MODELS_DIR / "retinaface_mnet025.onnx",
            MODELS_DIR / "box_calibration.json",
            "RetinaFace MobileNet-0.25 as published (WIDER FACE; biubug6/Pytorch_Retinaface weights)",
        ),
        DetectorModel(
            "retinaface_mnet025_ft",
            MODELS_DIR / "retinaface_mnet025_ft.onnx",
            MODELS_DIR / "retinaface_mnet025_ft_calibration.json",
            "the same network fine-tuned on the face boxes of the street, web and MaskedFace-Net photos "
            "(maskwatch train-detector)",
        ),
    )
}
DEFAULT_DETECTOR = "retinaface_mnet025_ft"


def resolve_detector(name_or_path: str | Path | None = None) -> DetectorModel:
    """A shipped model by name (None: the default), or any RetinaFace-layout ONNX file by path. A file given by path
    gets the calibration JSON beside it named `<stem>_calibration.json` where there is one, else the shipped
    calibration: `maskwatch train-detector` keeps the shipped detector's box convention."""
    key = DEFAULT_DETECTOR if name_or_path is None else str(name_or_path)
    if key in MODELS:
        model = MODELS[key]
        if not model.path.is_file():
            raise UserError(f"detector {key!r}: its model file {model.path} is missing")
        return model
    path = Path(key)
    if path.suffix.lower() != ".onnx" or not path.is_file():
        raise UserError(f"detector must be one of {', '.join(MODELS)} or an existing .onnx file, got {key!r}")
    beside = path.with_name(f"{path.stem}_calibration.json")
    return DetectorModel(
        path.stem, path, beside if beside.is_file() else MODELS[DEFAULT_DETECTOR].calibration, "given by path"
    )
