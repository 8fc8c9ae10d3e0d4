"""The live service (cameras → analysis → events/alerts) and its `serve` / `config check` commands."""

from maskwatch.service.service import Service

__all__ = ["Service"]
