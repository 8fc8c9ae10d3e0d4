"""Web UI and REST API over the running service (FastAPI; a plain HTML/JS/CSS page, no build step)."""

from maskwatch.web.app import create_app

__all__ = ["create_app"]
