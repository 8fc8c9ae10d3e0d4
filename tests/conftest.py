import pytest

from maskwatch.core.paths import MODELS_DIR, SHARED_DATA

pytest_plugins = ["helpers_service.fixtures"]  # the service tests' fixtures: andrewmvd, pipeline, test_clip


@pytest.fixture(scope="session")
def shared_data():
    """The read-only face-mask data beside the repo; tests that need it skip where it is absent."""
    if not (SHARED_DATA / "andrewmvd" / "annotations").is_dir():
        pytest.skip(f"shared face-mask data not found at {SHARED_DATA} (set MASKWATCH_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def classifier_model():
    path = MODELS_DIR / "mask_classifier.onnx"
    assert path.is_file(), "models/mask_classifier.onnx is missing from the checkout"
    return path
