"""Camera sources: a reader thread per camera feeding a 1-slot newest-frame buffer."""

from maskwatch.sources.reader import CameraReader, Frame, FrameSlot, SourceStats, describe, open_capture

__all__ = ["CameraReader", "Frame", "FrameSlot", "SourceStats", "describe", "open_capture"]
