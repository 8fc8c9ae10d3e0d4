"""The records that cross the service's boundaries: an alert event as stored and sent, and a camera's state.

Their JSON (`to_json()`) is what the API, MQTT, webhooks and e-mail carry: field for field, in this order.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from maskwatch.core.labels import Label, Review


class Event(BaseModel):
    """An alert as the event store holds it."""

    model_config = ConfigDict(frozen=True)

    id: int
    time: str = Field(description="when it was raised, ISO 8601 UTC with milliseconds")
    timestamp: float = Field(description="the same time in epoch seconds")
    camera: str
    zone: str | None
    track_id: int | None
    label: Label
    confidence: float | None = Field(description="the smoothed label's probability when it alerted")
    held_seconds: float | None = Field(
        None, description="how long the label had held (rules.min_seconds or more) when it alerted; null: not known"
    )
    snapshot: str | None = Field(description="the frame with faces hidden, relative to storage.snapshots; null: none")
    clip: str | None = Field(description="the clip around it, relative to storage.clips; null: none (yet)")
    box: list[float] | None = Field(description="the face: x1 y1 x2 y2 in pixels")
    delivered: dict[str, bool] = Field(description="per sink the event goes to: delivered yet")
    review: Review | None = Field(description="what a person who looked at it said; null: not looked at yet")
    model_version: str | None = Field(
        None, description="the mask classifier that judged the face: <file stem>-<sha256[:8]>; null: not known"
    )

    def to_json(self) -> dict:
        return self.model_dump()

    def payload(self) -> dict:
        """What MQTT, webhooks and e-mail send: the alert as raised, without the store's delivery state and review."""
        return self.model_dump(exclude={"delivered", "review"})


class CameraStatus(BaseModel):
    """A camera's state as the UI, /api/stats, /metrics and MQTT see it."""

    name: str
    enabled: bool
    online: bool
    fps_analysed: float = 0.0
    frames_decoded: int = 0
    frames_skipped: int = 0  # files: decoded but not delivered, beyond the `fps` analysed a second
    frames_dropped: int = 0  # overwritten before analysis
    frames_analysed: int = 0
    frames_detected: int = 0  # analysed frames the detector ran on (the others were still)
    faces: int = 0
    masked: int = 0
    unmasked: int = 0
    last_error: str | None = None
    width: int = 0
    height: int = 0
    source: str = ""
    kind: str = ""
    events: int = 0  # alerts raised since the start
    state_since: str | None = None  # when it went online or offline; None: it never ran here

    def to_json(self) -> dict:
        out = self.model_dump()
        if self.state_since is None:  # a camera that does not run here has no state to date
            del out["state_since"]
        return out
