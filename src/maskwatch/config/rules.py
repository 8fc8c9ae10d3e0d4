"""`rules:` when a tracked face becomes an alert."""

from __future__ import annotations

from datetime import datetime, tzinfo

from pydantic import Field, field_validator

from maskwatch.config.base import Label, Strict
from maskwatch.rules.hours import time_zone

DEFAULT_ALERT_LABELS: tuple[Label, ...] = ("no_mask", "incorrect")


class RulesConfig(Strict):
    """Alerts: which labels, how sure and for how long, how often, and the clock the zones' hours use."""

    alert_labels: list[Label] = Field(
        default_factory=lambda: list(DEFAULT_ALERT_LABELS),
        description="the labels that alert in restricted zones (mask, no_mask, incorrect); zones may set their own",
    )
    min_seconds: float = Field(
        1.0, ge=0, description="seconds the smoothed label must hold before it alerts (a glance is not an alert)"
    )
    min_confidence: float = Field(
        0.5, ge=0, le=1, description="smoothed class probability (0..1) the label needs to alert"
    )
    cooldown_seconds: float = Field(
        60.0,
        ge=0,
        description="seconds: one alert per track per cooldown; 0: an alert on every analysed frame the rule holds",
    )
    timezone: str | None = Field(
        None, description="IANA time zone of the zones' hours, e.g. 'Europe/Berlin'; unset: the machine's local time"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str | None) -> str | None:
        if name is not None:
            time_zone(name)
        return name

    @property
    def tzinfo(self) -> tzinfo | None:
        return time_zone(self.timezone) if self.timezone else None

    @property
    def tzname(self) -> str:
        """The time zone's name for people: the configured one, else the machine's (e.g. 'UTC')."""
        return self.timezone or datetime.now().astimezone().tzname() or "local time"
