"""`cameras[]`: the video sources the service analyses."""

from __future__ import annotations

from typing import Self

from pydantic import Field, field_validator, model_validator

from maskwatch.config.base import Name, Strict
from maskwatch.config.zones import ZoneList

# `<topic_prefix>/service/status` is the service's own MQTT availability topic; a camera of that name would publish
# its status onto it (and Home Assistant would read "offline" from a camera status JSON).
RESERVED_CAMERA_NAMES = frozenset({"service"})


class CameraConfig(Strict):
    """One video source: a file, an RTSP or HTTP(S) stream, or a webcam."""

    name: Name = Field(
        description="the camera's name, unique in the file; it names the camera in events, MQTT topics "
        "(<topic_prefix>/<name>/...), URLs and metrics. 'service' is taken (the service's own MQTT status topic)"
    )
    source: str | int = Field(
        description="a video file path (relative to the config file's folder), an rtsp:// or rtsps:// URL, an "
        "http(s):// URL (MJPEG or a video stream), a webcam index (0, 1, ...) or /dev/videoN"
    )
    fps: float = Field(
        5.0,
        gt=0,
        le=60,
        description="frames analysed per second at most; the reader keeps only the newest frame, so the ones in "
        "between are dropped",
    )
    loop: bool = Field(
        True, description="files only: start again from the beginning at the end; false: play once, then offline"
    )
    reconnect_max_seconds: float = Field(
        10.0,
        gt=0,
        description="a source that fails is tried again after a wait that doubles up to this many seconds",
    )
    enabled: bool = Field(True, description="false: the camera is kept in the file but not opened or analysed")
    zones: ZoneList = Field(default_factory=list)
    clips: bool | None = Field(
        None,
        description="record alert clips of this camera or not, e.g. in a corridor but not in a treatment room; "
        "unset: as clips.enabled says",
    )
    max_pixels: int = Field(
        3840 * 2160,
        ge=64 * 64,
        description="pixels (width x height): larger frames are refused, before they are decoded where the source "
        "allows it (HTTP/MJPEG cameras); the camera shows an error and the others go on; default: 4K",
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_CAMERA_NAMES:
            raise ValueError(f"the camera name {name!r} is taken by the service's own MQTT topic: choose another")
        return name

    @model_validator(mode="after")
    def _unique_zones(self) -> Self:
        names = [z.name for z in self.zones]
        if len(names) != len(set(names)):
            raise ValueError(f"zone names repeat: {names}")
        return self

    @property
    def kind(self) -> str:
        """webcam, rtsp, http or file: how the source is opened."""
        if isinstance(self.source, int) or str(self.source).isdigit() or str(self.source).startswith("/dev/video"):
            return "webcam"
        scheme = str(self.source).split("://", 1)[0].lower() if "://" in str(self.source) else ""
        return {"rtsp": "rtsp", "rtsps": "rtsp", "http": "http", "https": "http"}.get(scheme, "file")
