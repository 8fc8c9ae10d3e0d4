"""`privacy:` which faces are hidden where, and whether alerts keep a picture at all."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from maskwatch.config.base import Strict


class PrivacyConfig(Strict):
    """Faces are hidden in the live view, the snapshots and the clips unless told otherwise."""

    save_snapshots: bool = Field(True, description="keep a snapshot of each alert; false: events without a picture")
    snapshot_show_offender: bool = Field(False, description="leave the offending face unblurred in its snapshot")
    blur_live: bool = Field(True, description="hide the faces in the web UI's live view")
    blur_method: Literal["pixelate", "gaussian"] = Field(
        "pixelate", description="how faces are hidden: pixelate (coarse blocks) or gaussian (a strong blur)"
    )
    blur_min_score: float = Field(
        0.3,
        gt=0,
        lt=1,
        description="detector score (0..1) down to which faces are hidden, doubtful ones included (only faces above "
        "detector.min_score are tracked)",
    )
