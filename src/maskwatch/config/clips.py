"""`clips:` short videos around alerts, every face hidden in every frame."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from maskwatch.config.base import Strict


class ClipsConfig(Strict):
    """Alert clips, written as WebM (VP8) into storage.clips; cameras[].clips turns them on or off per camera."""

    enabled: bool = Field(
        False,
        description="record a short clip around each alert, every face hidden in every frame (off by default: video "
        "of people, even with faces hidden, is more than a snapshot)",
    )
    before_seconds: float = Field(3.0, ge=0, le=30, description="seconds recorded before the clip's first alert")
    after_seconds: float = Field(5.0, ge=0, le=60, description="seconds recorded after the clip's last alert")
    max_seconds: float = Field(
        30.0,
        gt=0,
        le=300,
        description="seconds: alerts on a camera while its clip records join that clip as long as it stays this "
        "short; later ones start their own; at least before_seconds + after_seconds",
    )
    width: int = Field(640, ge=160, le=3840, description="pixels: frames wider than this are scaled down")
    kbps: int = Field(500, ge=50, le=20000, description="VP8 bit rate in kilobits per second")

    @model_validator(mode="after")
    def _room_for_one_alert(self) -> Self:
        if self.max_seconds < self.before_seconds + self.after_seconds:
            raise ValueError("max_seconds must be at least before_seconds + after_seconds")
        return self
