"""What every section shares: the strict base model and the name and label types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from maskwatch.core.labels import Label

__all__ = ["NAME_PATTERN", "Label", "Name", "Strict"]

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
Name = Annotated[
    str,
    Field(pattern=NAME_PATTERN, description="1 to 64 letters, digits, '_' or '-': it goes into MQTT topics and URLs"),
]


class Strict(BaseModel):
    """A config section: unknown keys are errors (a typo is not silently ignored), and so are NaN and infinity."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
