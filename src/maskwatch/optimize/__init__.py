"""Model optimisation: static INT8 quantisation of the classifier and the face detector.

Its names load on first use: ONNX Runtime's quantisation tools need `onnx` (`pip install maskwatch[optimize]`), which
the rest of the command line does not.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maskwatch.optimize.calibration import (
        CropCalibrationReader,
        PhotoCalibrationReader,
        sample_crops,
        sample_photos,
    )
    from maskwatch.optimize.quantize import FORMATS, quantize_classifier, quantize_detector

_WHERE = {
    "CropCalibrationReader": "calibration",
    "PhotoCalibrationReader": "calibration",
    "sample_crops": "calibration",
    "sample_photos": "calibration",
    "FORMATS": "quantize",
    "quantize_classifier": "quantize",
    "quantize_detector": "quantize",
}
__all__ = [
    "FORMATS",
    "CropCalibrationReader",
    "PhotoCalibrationReader",
    "quantize_classifier",
    "quantize_detector",
    "sample_crops",
    "sample_photos",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
