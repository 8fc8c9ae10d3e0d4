"""`tracker:` following a face from frame to frame, so that one person is one track and one alert."""

from __future__ import annotations

from pydantic import Field

from maskwatch.config.base import Strict


class TrackerConfig(Strict):
    """ByteTrack over the detected faces, and the label smoothing along each track."""

    lost_seconds: float = Field(2.0, gt=0, description="seconds: a face unseen this long ends its track")
    match_threshold: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="ByteTrack's matching threshold (0..1): the largest 1 - IoU between a track's predicted box "
        "and a face for them to be joined; higher joins more loosely",
    )
    smoothing_frames: int = Field(
        5,
        ge=1,
        le=100,
        description="analysed frames over which a track's class probabilities are averaged before its label counts",
    )
