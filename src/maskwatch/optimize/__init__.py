"""Model optimisation: static INT8 quantisation of the classifier and the face detector.

Its names load on first use: ONNX Runtime's quantisation tools need `onnx` (`pip install maskwatch[optimize]`), which
the rest of the command line does not.
"""

from importlib import import_module

_WHERE = {
    "CropCalibrationReader": "calibration",
    "PhotoCalibrationReader": "calibration",
    "sample_crops": "calibration",
    "sample_photos": "calibration",
    "FORMATS": "quantize",
    "quantize_classifier": "quantize",
    "quantize_detector": "quantize",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
