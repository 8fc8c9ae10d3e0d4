"""`collect:` face crops of hard cases kept for labelling and retraining (off by default, privacy first)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from maskwatch.config.base import Strict

CaseReason = Literal["reviewed", "unsure", "flipped"]
ALL_REASONS: tuple[CaseReason, ...] = ("reviewed", "unsure", "flipped")


class CollectConfig(Strict):
    """Hard cases from the cameras, kept as face crops only (the face box with a small margin, never the scene, no
    identity, no embedding) in their own folder for `maskwatch cases` and the Cases page. Only the admin token
    sees, labels or exports them; each view, label and export is written to an audit log (see docs/privacy.md)."""

    enabled: bool = Field(
        False,
        description="keep face crops of hard cases for labelling (off by default: a crop of a face is personal "
        "data, kept only where asked for)",
    )
    folder: Path | None = Field(
        None, description="folder of the crops and their database; unset: 'cases' beside storage.snapshots"
    )
    retention_days: float = Field(
        14.0, gt=0, description="days a crop is kept, labelled or not, unless exported first; checked every hour"
    )
    max_mb: float = Field(
        200.0, gt=0, description="megabytes: past this, the oldest crops go until they fill 90 % of it"
    )
    reasons: list[CaseReason] = Field(
        default_factory=lambda: list(ALL_REASONS),
        description="which faces are kept: reviewed (alerts a reviewer marked confirmed or false alarm), unsure "
        "(the classifier's top two probabilities closer than unsure_margin), flipped (a track's smoothed label "
        "changed)",
    )
    unsure_margin: float = Field(
        0.2, gt=0, lt=1, description="a face is unsure where its top-1 minus top-2 class probability is below this"
    )
    unsure_per_camera_per_hour: int = Field(
        20, ge=0, le=3600, description="at most this many unsure faces kept per camera per hour (the rest are not)"
    )
    flipped_per_camera_per_hour: int = Field(
        20, ge=0, le=3600, description="at most this many flipped-track faces kept per camera per hour"
    )
    crop_max_side: int = Field(128, ge=32, le=128, description="pixels: a crop's longer side is at most this")
    margin: float = Field(
        0.15, ge=0, le=0.5, description="the margin around the face box, as a fraction of its size on each side"
    )
    min_face_px: int = Field(
        28,
        ge=4,
        le=512,
        description="pixels: faces whose shorter side is under this are not kept (with the margin, smaller crops "
        "would fall under the 32 px that `maskwatch data build` takes)",
    )
    jpeg_quality: int = Field(90, ge=30, le=100, description="JPEG quality (30..100) of the crops")
