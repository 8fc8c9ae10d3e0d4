"""Face detection: the FaceDetector interface, its backends, scale planning and tiling, and box calibration."""

from maskwatch.detect.base import FaceDetector
from maskwatch.detect.calibration import BoxCalibration
from maskwatch.detect.multiscale import MultiScaleDetector
from maskwatch.detect.retinaface import RetinaFaceDetector
from maskwatch.detect.scales import ScaleSettings

__all__ = ["BoxCalibration", "FaceDetector", "MultiScaleDetector", "RetinaFaceDetector", "ScaleSettings"]
