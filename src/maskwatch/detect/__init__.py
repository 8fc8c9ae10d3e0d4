"""Face detection: the FaceDetector interface, its backends and box calibration."""

from maskwatch.detect.base import FaceDetector
from maskwatch.detect.calibration import BoxCalibration
from maskwatch.detect.retinaface import RetinaFaceDetector

__all__ = ["BoxCalibration", "FaceDetector", "RetinaFaceDetector"]
