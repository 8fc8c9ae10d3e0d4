"""What `make test` installs is required: a test whose real dependency is missing or broken fails, naming it. Only
what `make test` cannot provide (../shared/data, a GPU, a Docker engine, root for mounting) may skip."""

from __future__ import annotations

import pytest


def require(present: bool, what: str, installed_as: str) -> None:
    """Fails the test (not a skip) when `what` is not there; `installed_as`: how `make test` installs it."""
    if not present:
        pytest.fail(f"{what} is missing or broken; `make test` installs it ({installed_as})", pytrace=False)
