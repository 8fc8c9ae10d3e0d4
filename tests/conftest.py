import pytest

from helpers_service.fixtures import andrewmvd, pipeline, test_clip  # noqa: F401 (fixtures for the service tests)
from maskwatch.core.paths import MODELS_DIR, SHARED_DATA


@pytest.fixture(scope="session")
def shared_data():
    """The read-only face-mask data beside the repo; tests that need it skip where it is absent."""
    if not (SHARED_DATA / "andrewmvd" / "annotations").is_dir():
        pytest.skip(f"shared face-mask data not found at {SHARED_DATA} (set MASKWATCH_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def classifier_model():
    path = MODELS_DIR / "mask_classifier.onnx"
    if not path.is_file():
        pytest.skip("models/mask_classifier.onnx is missing")
    return path
