"""pytest fixtures shared by the service tests (registered by tests/conftest.py as a plugin)."""

from __future__ import annotations

import pytest

from maskwatch.core.paths import MODELS_DIR, SHARED_DATA

# Photos (CC0 andrewmvd) whose main face is large and clearly labelled: (left, right) per 2-second segment.
# Segment 1: unmasked faces on both sides; segment 2: a masked face on the left, an unmasked one on the right.
NO_MASK_LEFT, NO_MASK_RIGHT, MASK_LEFT, NO_MASK_RIGHT_2 = (
    "maksssksksss757",
    "maksssksksss128",
    "maksssksksss313",
    "maksssksksss348",
)
SEGMENTS = [(NO_MASK_LEFT, NO_MASK_RIGHT), (MASK_LEFT, NO_MASK_RIGHT_2)]


@pytest.fixture(scope="session")
def andrewmvd():
    folder = SHARED_DATA / "andrewmvd"
    if not (folder / "annotations").is_dir():
        pytest.skip(
            f"shared face-mask photos not found at {folder} (set MASKWATCH_DATA); service clips are built from them"
        )
    return folder


@pytest.fixture(scope="session")
def pipeline(andrewmvd):
    assert (MODELS_DIR / "mask_classifier.onnx").is_file(), "models/mask_classifier.onnx is missing from the checkout"
    from maskwatch.pipeline import MaskPipeline

    return MaskPipeline.from_defaults(input_size=640, min_score=0.5, threads=1)


@pytest.fixture(scope="session")
def test_clip(andrewmvd, tmp_path_factory):
    """4 s, 640x360, 10 fps: left half = restricted zone 'door', right half = unrestricted zone 'hall'."""
    from helpers_service.clips import write_clip

    return write_clip(tmp_path_factory.mktemp("clips") / "two_zones.mp4", SEGMENTS, seconds_each=2.0, fps=10)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's /usr/bin/chromium through Playwright), one per test module."""
    from helpers_service.web_ui import chromium

    with chromium() as b:
        yield b
