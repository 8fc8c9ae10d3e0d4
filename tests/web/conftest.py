"""The live service (a clip of CC0 photos as its camera) that the web API and access tests share, one per module."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from helpers_service.live_web import running_service


@pytest.fixture(scope="module")
def running(request, tmp_path_factory, pipeline, test_clip):
    yield from running_service(tmp_path_factory.mktemp(request.module.__name__), pipeline, test_clip)


@pytest.fixture
def client(running) -> TestClient:
    running["client"].cookies.clear()
    return running["client"]
