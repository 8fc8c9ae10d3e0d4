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


SWEEP_FACE_PHOTO = "maksssksksss609.jpg"  # CC0 street set: one unmasked face, 148x162 px, alone in the photo
SWEEP_BACKGROUND_PHOTO = "maksssksksss818.jpg"  # its face painted out, blurred: the still scene behind


@pytest.fixture(scope="session")
def sweep_face(shared_data):
    """(patch, box, backdrop): one real unmasked face cut out of its photo, and the photo whose face is painted out
    to make a still background (maskwatch.data.scene_video.size_sweep_frames pastes the face at any size)."""
    import cv2

    from maskwatch.data.scene_video import face_patch
    from maskwatch.data.scenes import Face, Photo
    from maskwatch.data.voc_folder import read_voc_xml

    folder = shared_data / "andrewmvd"
    if not (folder / "images" / SWEEP_FACE_PHOTO).is_file():
        pytest.skip(f"{folder / 'images' / SWEEP_FACE_PHOTO} not found (the size sweeps are made of this real face)")
    xml = SWEEP_FACE_PHOTO.replace(".jpg", ".xml")
    ann = read_voc_xml(folder / "annotations" / xml, folder / "images" / SWEEP_FACE_PHOTO)
    assert ann.labels == ["no_mask"]
    patch, box = face_patch(cv2.imread(str(folder / "images" / SWEEP_FACE_PHOTO)), ann.boxes[0])
    xml = SWEEP_BACKGROUND_PHOTO.replace(".jpg", ".xml")
    back = read_voc_xml(folder / "annotations" / xml, folder / "images" / SWEEP_BACKGROUND_PHOTO)
    faces = [Face(b, lab) for b, lab in zip(back.boxes, back.labels, strict=True)]
    return patch, box, Photo(folder / "images" / SWEEP_BACKGROUND_PHOTO, "andrewmvd", faces)
