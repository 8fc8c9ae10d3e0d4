"""maskwatch: face-mask compliance from camera feeds."""

from maskwatch.labels import CLASSES
from maskwatch.types import Detections

__all__ = ["CLASSES", "Detections"]
__version__ = "0.1.0"
