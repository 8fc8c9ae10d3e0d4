"""Query parameters, one model per route family (FastAPI reads each field from the query string)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from maskwatch.web.defs.common import MAX_INT64, Label, ReviewState

Bucket = Literal["hour", "day", "all"]
TIME = "ISO 8601 time or epoch seconds"


class EventFilter(BaseModel):
    camera: str | None = Field(None, max_length=64, description="only this camera's events")
    label: Label | None = Field(None, description="only events of this label")
    zone: str | None = Field(None, max_length=64, description="only events in this zone")
    since: str | None = Field(None, max_length=64, description=f"events from then on: {TIME}")
    review: ReviewState | None = Field(None, description="only events reviewed so (unreviewed: not yet)")


class EventPage(EventFilter):
    limit: int = Field(100, ge=1, le=1000, description="events per page")
    offset: int = Field(0, ge=0, le=MAX_INT64, description="events skipped (newest first)")


class EventExport(EventFilter):
    limit: int = Field(10000, ge=1, le=10000, description="rows at most")


class LiveEvents(BaseModel):
    after: int | None = Field(
        None, ge=0, le=MAX_INT64, description="first send the stored events with a larger id (as Last-Event-ID)"
    )


class ComplianceQuery(BaseModel):
    since: str | None = Field(None, max_length=64, description=TIME)
    until: str | None = Field(None, max_length=64, description=TIME)
    days: int | None = Field(
        None,
        ge=1,
        le=3660,
        description="instead of since: from midnight days - 1 days ago (1: today), in rules.timezone",
    )
    camera: str | None = Field(None, max_length=64, description="only this camera")
    bucket: Bucket = Field("day", description="rows per hour, per day, or one over the whole span")


class ReviewQuery(BaseModel):
    days: int | None = Field(
        7,
        ge=1,
        le=3660,
        description="alerts from midnight days - 1 days ago (1: today), in rules.timezone; unset: all kept",
    )


class FrameQuery(BaseModel):
    annotated: bool = Field(True, description="boxes, labels, track ids and zones drawn")


class StreamQuery(FrameQuery):
    fps: float = Field(5.0, gt=0, le=15, description="frames per second at most")
