"""The live service (cameras → analysis → events/alerts) and its `serve` / `config check` commands.

`Service` loads on first use: it needs the `serve` extra, which the rest of the command line does not.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maskwatch.service.service import Service

__all__ = ["Service"]


def __getattr__(name: str) -> Any:
    if name == "Service":
        from maskwatch.service.service import Service

        return Service
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
