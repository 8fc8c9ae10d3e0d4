"""The Cases API's bodies, queries and responses: face crops of hard cases, their labels and counts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from maskwatch.web.defs.common import MAX_INT64

CaseId = Annotated[int, Path(ge=1, le=MAX_INT64, description="the case's id")]
CaseLabel = Literal["mask", "no_mask", "incorrect", "not_a_face"]
CaseReason = Literal["reviewed_confirmed", "reviewed_false_alarm", "unsure", "flipped"]


class Exact(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelBody(BaseModel):
    label: CaseLabel | None = Field(description="what the crop shows; null: take the label back (undo)")


class CaseQuery(BaseModel):
    reason: Literal["reviewed", "reviewed_confirmed", "reviewed_false_alarm", "unsure", "flipped"] | None = Field(
        None, description="only cases kept for this reason (reviewed: either review)"
    )
    labelled: bool | None = Field(None, description="only labelled (true) or unlabelled (false) cases")
    label: CaseLabel | None = Field(None, description="only cases with this label")
    limit: int = Field(60, ge=1, le=500, description="cases per page")
    offset: int = Field(0, ge=0, le=MAX_INT64, description="cases skipped")
    oldest_first: bool = Field(False, description="oldest first (the default: newest first)")


class Case(Exact):
    id: int
    time: str = Field(description="when the face was seen, ISO 8601 UTC")
    timestamp: float = Field(description="the same, in epoch seconds")
    camera: str
    zone: str | None
    reason: CaseReason = Field(description="why it was kept")
    model_version: str | None = Field(description="the classifier that judged it (its file stem and content hash)")
    probs: dict[str, float] = Field(description="that classifier's probabilities for mask, no_mask and incorrect")
    guess: str = Field(description="the class it gave the highest probability")
    bytes: int = Field(description="size of the crop (JPEG)")
    event_id: int | None = Field(description="the alert it comes from (reviewed cases)")
    label: CaseLabel | None = Field(description="what a person said it shows; null: not labelled yet")
    labelled_at: str | None


class CaseCounts(Exact):
    total: int
    labelled: int
    bytes: int = Field(description="size of all crops kept")
    reasons: dict[str, int] = Field(description="cases per reason")
    labels: dict[str, int] = Field(description="cases per label, and `unlabelled`")


class CollectStatus(Exact):
    enabled: bool = Field(description="whether the service keeps face crops now (collect.enabled)")
    reasons: list[str] = Field(description="which faces it keeps (collect.reasons)")
    retention_days: float
    max_mb: float
    total: int = Field(description="crops kept now")
    kept_since_start: int = Field(description="crops kept since the service started")
