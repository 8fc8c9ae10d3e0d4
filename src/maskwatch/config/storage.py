"""`storage:` the event database and the media files (snapshots, clips), and how long they are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from maskwatch.config.base import Strict


class StorageConfig(Strict):
    """Where events, snapshots and clips are written (paths relative to the config file's folder) and for how long
    they are kept. Every event is written to the database before it is sent anywhere."""

    database: Path = Field(Path("maskwatch-data/events.db"), description="the SQLite event database (WAL mode)")
    snapshots: Path = Field(
        Path("maskwatch-data/snapshots"),
        description="folder of the alerts' snapshots, JPEG, as <camera>/<date>/<time>_t<track>.jpg",
    )
    retention_days: float = Field(
        7.0, gt=0, description="days events (and with them their media) are kept; checked at start and every hour"
    )
    snapshot_retention_days: float | None = Field(
        None,
        gt=0,
        description="days: snapshots go sooner than their events (the events stay, without an image); unset: "
        "with the events",
    )
    count_retention_days: float = Field(
        400.0,
        gt=0,
        description="days people counts (compliance figures, no person in them) are kept, for yearly reports",
    )
    jpeg_quality: int = Field(85, ge=30, le=100, description="JPEG quality (30..100) of snapshots")
    max_media_mb: float | None = Field(
        None,
        gt=0,
        description="megabytes: snapshots and clips together are kept under this size, checked each minute; past "
        "it the oldest files go until they fill 90 % of it, their events stay; unset: no cap",
    )
    clips: Path | None = Field(None, description="folder of the alert clips (clips:); unset: 'clips' beside snapshots")
    clip_retention_days: float | None = Field(
        None,
        gt=0,
        description="days: clips go sooner than their events (the events stay, without a clip); unset: with the "
        "snapshots",
    )

    @model_validator(mode="after")
    def _clips_beside_snapshots(self) -> Self:
        if self.clips is None:
            self.clips = self.snapshots.parent / "clips"
        return self

    @property
    def clips_folder(self) -> Path:
        """`clips`, which the config sets beside the snapshots where it is not given."""
        return self.clips if self.clips is not None else self.snapshots.parent / "clips"
