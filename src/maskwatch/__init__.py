"""maskwatch: face-mask compliance from camera feeds."""

from maskwatch.core.detections import Detections
from maskwatch.core.labels import CLASSES

__all__ = ["CLASSES", "Detections"]
__version__ = "0.1.0"
