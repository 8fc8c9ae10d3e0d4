"""Tracking faces across frames and smoothing each track's label."""

from maskwatch.track.tracker import FaceTracker, LabelSmoother, TrackLabel

__all__ = ["FaceTracker", "LabelSmoother", "TrackLabel"]
