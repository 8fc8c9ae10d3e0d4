"""`cameras[].zones[]`: the areas of a camera's frame where the rules apply, and when."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from maskwatch.config.base import Label, Name, Strict
from maskwatch.rules.hours import parse_window

MAX_POLYGON_POINTS = 64  # a zone drawn by hand has a handful; a traced outline a few dozen
MAX_ZONES_PER_CAMERA = 50
MAX_HOURS_PER_ZONE = 28  # four windows a day, every day

Point = tuple[float, float]


class ZoneConfig(Strict):
    """A polygon in relative coordinates (0..1 of the frame's width and height), drawn in the web UI or written
    by hand. A face belongs to the first zone, in list order, that contains its box's centre."""

    name: Name = Field(description="the zone's name, unique on its camera; events and figures carry it")
    polygon: list[Point] = Field(
        min_length=3,
        max_length=MAX_POLYGON_POINTS,
        description=f"the corners as [x, y] pairs, each 0..1 of the frame's width and height ([0, 0] is the top "
        f"left corner), 3 to {MAX_POLYGON_POINTS} of them",
    )
    restricted: bool = Field(
        True,
        description="true: faces here must wear a mask and alert when they do not; false: they are only counted",
    )
    hours: list[str] = Field(
        default_factory=list,
        max_length=MAX_HOURS_PER_ZONE,
        description="when a restricted zone is in force, e.g. ['mon-fri 08:00-18:00', 'sat 09:00-13:00'] or "
        "'daily 00:00-24:00', in rules.timezone; a window that ends before it starts runs past midnight; out of hours "
        f"the zone counts as open; up to {MAX_HOURS_PER_ZONE} windows; empty: always",
    )
    alert_labels: list[Label] | None = Field(
        None,
        min_length=1,
        description="the labels that alert in this zone, e.g. [no_mask] where a mask below the nose is tolerated; "
        "unset: rules.alert_labels",
    )
    ignore: bool = Field(
        False,
        description="faces here are left out: not tracked, alerted on or counted (a poster, a screen, a mirror); "
        "they are still hidden",
    )

    @model_validator(mode="after")
    def _ignored_is_all_it_is(self) -> Self:
        if self.ignore:
            if self.hours or self.alert_labels:
                raise ValueError("an ignored zone takes no hours or alert_labels")
            self.restricted = False
        return self

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, hours: list[str]) -> list[str]:
        for entry in hours:
            parse_window(entry)
        return hours

    @field_validator("polygon")
    @classmethod
    def _inside_frame(cls, polygon: list[Point]) -> list[Point]:
        for x, y in polygon:
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise ValueError(f"point ({x}, {y}) is outside 0..1 (coordinates are relative to the frame)")
        return polygon


ZoneList = Annotated[
    list[ZoneConfig],
    Field(
        max_length=MAX_ZONES_PER_CAMERA,
        description=f"up to {MAX_ZONES_PER_CAMERA} zones, each name once; empty: the whole frame is one restricted "
        "zone, called frame",
    ),
]
"""A camera's zones, as the config file and the zone editor (PUT /api/cameras/{name}/zones) both take them."""
