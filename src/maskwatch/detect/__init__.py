"""Face detection: the FaceDetector interface and its backends."""

from maskwatch.detect.base import FaceDetector
from maskwatch.detect.retinaface import RetinaFaceDetector

__all__ = ["FaceDetector", "RetinaFaceDetector"]
