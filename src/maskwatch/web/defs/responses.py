"""Responses: the JSON the API answers with, field for field (extra keys are an error, so that the OpenAPI document
and the answers cannot drift apart). Events and camera states are the service's own records (core.records)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from maskwatch.config import ZoneConfig
from maskwatch.core.records import CameraStatus, Event
from maskwatch.web.defs.common import Label, Role

__all__ = [
    "Camera",
    "CameraStatus",
    "CameraZones",
    "ComplianceRow",
    "Event",
    "Health",
    "Me",
    "Problem",
    "ReviewRow",
    "Stats",
]


class Exact(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(Exact):
    detail: str = Field(description="what is wrong, in one line")


class Health(Exact):
    status: Literal["ok", "stalled", "stopped"]
    analysis_seconds_ago: float | None = Field(None, description="since the analysis loop last went round")


class Me(Exact):
    role: Role = Field(description="admin: everything; viewer (ui.viewer_token): read only")


class Camera(CameraStatus):
    """A camera's state with its zones."""

    model_config = ConfigDict(extra="forbid")

    zones: list[ZoneConfig]


class CameraZones(Exact):
    camera: str
    zones: list[ZoneConfig]


class ComplianceRow(Exact):
    start: str | None = Field(description="the hour or day (ISO 8601 with offset); null: the whole span")
    camera: str
    zone: str | None = Field(description="null: outside every zone of a camera that has zones")
    people: int
    mask: int
    no_mask: int
    incorrect: int
    masked_share: float | None = Field(description="mask / people")


class ReviewRow(Exact):
    camera: str
    zone: str | None = Field(description="null: outside every zone of a camera that has zones")
    alerts: int = Field(description="alert events in the span")
    confirmed: int = Field(description="of them, confirmed by a person")
    false_alarm: int = Field(description="of them, called a false alarm by a person")
    unreviewed: int = Field(description="of them, not looked at yet")
    false_alarm_rate: float | None = Field(
        description=(
            "false_alarm / (confirmed + false_alarm): the figure to tune zones and rules on; null: none reviewed"
        )
    )


class SinkState(Exact):
    delivered: int
    failures: int
    pending: int
    last_error: str | None


class StorageUsage(Exact):
    snapshots_bytes: int
    clips_bytes: int
    database_bytes: int
    max_media_bytes: int | None = Field(description="storage.max_media_mb; null: no cap")


class ClipCounts(Exact):
    written: int
    dropped: int
    waiting: int


class Stats(Exact):
    uptime_seconds: float
    started_at: str | None
    providers: list[str] = Field(description="ONNX Runtime execution providers (or torch:<device>) in use")
    model_version: str | None = Field(
        None, description="the active mask classifier (<file stem>-<sha256[:8]>), as events record it"
    )
    time_zone: str | None = Field(description="rules.timezone, else the machine's: zone hours are read in it")
    alert_labels: list[Label] = Field(description="rules.alert_labels: where a zone sets none of its own")
    events_total: int
    events_by_label: dict[str, int]
    events_by_camera: dict[str, int]
    events_by_review: dict[str, int]
    cameras: dict[str, CameraStatus]
    cameras_online: int
    frames_decoded: int
    frames_dropped: int
    frames_analysed: int
    faces: int
    masked: int
    unmasked: int
    sinks: dict[str, SinkState]
    storage: StorageUsage
    clips: ClipCounts | None = Field(description="null where no clips are recorded here")
    snapshots_failed: int | None = Field(
        None,
        description="alerts kept without their snapshot, which could not be written (where the service counts them)",
    )
