"""The live service (cameras → analysis → events/alerts) and its `serve` / `config check` commands.

`Service` loads on first use: it needs the `serve` extra, which the rest of the command line does not.
"""

__all__ = ["Service"]


def __getattr__(name: str):
    if name == "Service":
        from maskwatch.service.service import Service

        return Service
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
