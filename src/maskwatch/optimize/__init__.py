"""Model optimisation: static INT8 quantisation of the classifier and the face detector."""

from maskwatch.optimize.calibration import CropCalibrationReader, PhotoCalibrationReader, sample_crops, sample_photos
from maskwatch.optimize.quantize import FORMATS, quantize_classifier, quantize_detector

__all__ = [
    "FORMATS",
    "CropCalibrationReader",
    "PhotoCalibrationReader",
    "quantize_classifier",
    "quantize_detector",
    "sample_crops",
    "sample_photos",
]
