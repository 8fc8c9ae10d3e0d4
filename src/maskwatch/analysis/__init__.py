"""Camera analysis: frames → faces (detector + classifier) → tracks → smoothed labels → rules (alerts, counts).

`CameraAnalyser` is one camera's analysis, usable on its own (a video file, a test); `LocalCameras` runs the
cameras of a config live, one detector call for the frames of all of them.
"""

from maskwatch.analysis.analyser import AnalysisOutput, CameraAnalyser, FrameResult, NoOutput, RaisedAlert
from maskwatch.analysis.cameras import CameraGroup, LiveCamera, LocalCameras
from maskwatch.analysis.finder import DetectionPlan, FaceFinder, find_faces

__all__ = [
    "AnalysisOutput",
    "CameraAnalyser",
    "CameraGroup",
    "DetectionPlan",
    "FaceFinder",
    "FrameResult",
    "LiveCamera",
    "LocalCameras",
    "NoOutput",
    "RaisedAlert",
    "find_faces",
]
