"""Types used across the API: labels, review states, ids, times, camera names, and the tags that group routes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Path

from maskwatch.core.labels import Label, Review, ReviewState

__all__ = ["MAX_INT64", "CameraName", "EventId", "Label", "Review", "ReviewState", "Role", "Tag"]

Role = Literal["admin", "viewer"]
MAX_INT64 = 2**63 - 1  # SQLite's largest integer: ids and offsets above it are refused (422), not an overflow

EventId = Annotated[int, Path(ge=1, le=MAX_INT64, description="the event's id")]
CameraName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the camera's name in the config")]


class Tag(StrEnum):
    cameras = "cameras"
    zones = "zones"
    events = "events"
    compliance = "compliance"
    auth = "auth"
    service = "service"
    cases = "cases"
