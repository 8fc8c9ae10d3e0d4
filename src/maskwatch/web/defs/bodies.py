"""Request bodies."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from maskwatch.config import MAX_HOURS_PER_ZONE, MAX_ZONES_PER_CAMERA, ZoneConfig
from maskwatch.web.defs.common import Label, Review


class ReviewBody(BaseModel):
    review: Review | None = Field(description="what a person who looked at the alert said of it; null: not looked at")


class ZoneIn(ZoneConfig):
    """A zone as the config takes it (with its caps on corners and windows); what a client sends is capped a
    little further, since it is written into the config file."""

    hours: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=MAX_HOURS_PER_ZONE, description=ZoneConfig.model_fields["hours"].description
    )
    alert_labels: list[Label] | None = Field(
        None, min_length=1, max_length=3, description=ZoneConfig.model_fields["alert_labels"].description
    )


def _a_list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise PydanticCustomError("list_type", "a list of {name, polygon: [[x, y], ...], restricted} is required")
    return value


class ZonesBody(BaseModel):
    """`{"zones": [...]}`, or the list alone."""

    zones: Annotated[list[ZoneIn], BeforeValidator(_a_list)] = Field(
        max_length=MAX_ZONES_PER_CAMERA,
        description="the camera's zones, replacing those it had; empty: the whole frame",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: object) -> object:
        return {"zones": data} if isinstance(data, list) else data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        wrapped = handler(core_schema)
        zones = handler.resolve_ref_schema(wrapped)["properties"]["zones"]
        return {"anyOf": [wrapped, {**zones, "title": "Zones alone"}]}

    @model_validator(mode="after")
    def _names_unique(self) -> Self:
        names = [z.name for z in self.zones]
        if len(names) != len(set(names)):
            raise ValueError(f"zone names repeat: {names}")
        return self


class LoginForm(BaseModel):
    """The login page's form (application/x-www-form-urlencoded)."""

    token: str = Field("", max_length=1024)
    next: str = Field("/", max_length=2048)
