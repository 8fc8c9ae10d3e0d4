"""The CLI on real images and on every kind of bad input: one-line errors, no tracebacks."""

import json
import shutil
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from helpers_service.cli import run_cli
from maskwatch.detect.anchors import box_iou

PHOTOS = [
    "maksssksksss114.jpg",
    "maksssksksss125.jpg",
    "maksssksksss132.jpg",
    "maksssksksss182.jpg",
    "maksssksksss1.jpg",
]


def assert_clean_error(proc):
    assert "Traceback" not in proc.stderr, proc.stderr


def gt_boxes(data, name):
    root = ET.parse(data / "andrewmvd" / "annotations" / name.replace(".jpg", ".xml")).getroot()
    return np.array(
        [[float(o.find(f"bndbox/{k}").text) for k in ("xmin", "ymin", "xmax", "ymax")] for o in root.iter("object")]
    )


@pytest.fixture
def photos(shared_data, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(shared_data / "andrewmvd" / "images" / name, folder / name)
    return folder


def test_predict_end_to_end_boxes_match_annotations(photos, shared_data, classifier_model, tmp_path):
    out = tmp_path / "preds.json"
    proc = run_cli("predict", photos, "-o", out)
    assert proc.returncode == 0, proc.stderr
    preds = json.loads(out.read_text())
    assert sorted(preds) == sorted(PHOTOS)
    found = total = 0
    for name, faces in preds.items():
        for face in faces:
            assert face["label"] in ("mask", "no_mask", "incorrect")
            assert 0.05 <= face["score"] <= 1
            x1, y1, x2, y2 = face["box"]
            assert 0 <= x1 < x2 and 0 <= y1 < y2
        gt = gt_boxes(shared_data, name)
        confident = np.array([f["box"] for f in faces if f["score"] >= 0.3]).reshape(-1, 4)
        if len(confident):
            found += int((box_iou(gt, confident).max(axis=1) >= 0.4).sum())
        total += len(gt)
    assert found / total >= 0.85, f"only {found}/{total} annotated faces found"


def jpeg_with_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose EXIF says how to turn the stored pixels for display (6: 90 degrees clockwise), as phones write."""
    tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01" + orientation.to_bytes(2, "big") + b"\0\0" + b"\0" * 4
    app1 = b"Exif\0\0" + tiff
    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    return jpeg[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + jpeg[2:]


def test_predict_boxes_are_in_the_displayed_orientation(shared_data, classifier_model, tmp_path):
    name = PHOTOS[0]
    upright = cv2.imread(str(shared_data / "andrewmvd" / "images" / name))
    sideways = tmp_path / name
    sideways.write_bytes(jpeg_with_orientation(cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE), 6))
    out = tmp_path / "preds.json"
    proc = run_cli("predict", sideways, "-o", out)
    assert proc.returncode == 0, proc.stderr
    boxes = np.array([f["box"] for f in json.loads(out.read_text())[name] if f["score"] >= 0.3]).reshape(-1, 4)
    gt = gt_boxes(shared_data, name)
    assert len(boxes) and (box_iou(gt, boxes).max(axis=1) >= 0.4).mean() >= 0.5, (gt, boxes)


def test_predict_reads_gif_and_jfif_photos(shared_data, classifier_model, tmp_path):
    image = cv2.imread(str(shared_data / "andrewmvd" / "images" / PHOTOS[0]))
    folder = tmp_path / "odd"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.gif"), image)
    shutil.copy(shared_data / "andrewmvd" / "images" / PHOTOS[0], folder / "b.jfif")
    out = tmp_path / "preds.json"
    proc = run_cli("predict", folder, "-o", out)
    assert proc.returncode == 0 and "0 skipped" in proc.stderr, proc.stderr
    preds = json.loads(out.read_text())
    assert sorted(preds) == ["a.gif", "b.jfif"]
    assert all(any(f["score"] >= 0.5 for f in faces) for faces in preds.values())


def test_classify_crops(photos, shared_data, classifier_model, tmp_path):
    image = cv2.imread(str(photos / "maksssksksss125.jpg"))
    x1, y1, x2, y2 = gt_boxes(shared_data, "maksssksksss125.jpg")[0].astype(int)
    crop = tmp_path / "crop.png"
    cv2.imwrite(str(crop), image[y1:y2, x1:x2])
    out = tmp_path / "classes.json"
    proc = run_cli("classify", crop, "-o", out)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())["crop.png"]
    assert result["label"] in ("mask", "no_mask", "incorrect")
    assert abs(sum(result["scores"].values()) - 1) < 1e-3


def test_detect_image_and_video(photos, classifier_model, tmp_path):
    out = tmp_path / "annotated.jpg"
    proc = run_cli("detect", photos / "maksssksksss114.jpg", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(out)).shape == cv2.imread(str(photos / "maksssksksss114.jpg")).shape
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5, (320, 240))
    frame = cv2.resize(cv2.imread(str(photos / "maksssksksss114.jpg")), (320, 240))
    for _ in range(4):
        writer.write(frame)
    writer.release()
    proc = run_cli("detect", video, "--out", tmp_path / "clip_out.mp4", "--input-size", "320")
    assert proc.returncode == 0, proc.stderr
    cap = cv2.VideoCapture(str(tmp_path / "clip_out.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4


def test_missing_path_is_one_line_error(tmp_path, classifier_model):
    proc = run_cli("predict", tmp_path / "nope.jpg", "-o", tmp_path / "p.json")
    assert proc.returncode != 0
    assert_clean_error(proc)
    assert "nope.jpg: no such file or directory" in proc.stderr


def test_non_image_file_is_rejected(tmp_path, classifier_model):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    proc = run_cli("predict", text, "-o", tmp_path / "p.json")
    assert proc.returncode != 0
    assert_clean_error(proc)
    assert "not an image file" in proc.stderr


def test_corrupt_image_in_folder_is_skipped_and_rest_processed(photos, tmp_path, classifier_model):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (photos / "readme.txt").write_text("x")
    out = tmp_path / "p.json"
    proc = run_cli("predict", photos, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert_clean_error(proc)
    assert "broken.jpg: cannot be read as an image" in proc.stderr
    assert "readme.txt: not an image file" in proc.stderr
    preds = json.loads(out.read_text())
    assert "broken.jpg" not in preds and len(preds) == len(PHOTOS)


def test_only_corrupt_images_exit_non_zero(tmp_path, classifier_model):
    (tmp_path / "a.jpg").write_bytes(b"garbage")
    proc = run_cli("predict", tmp_path / "a.jpg", "-o", tmp_path / "p.json")
    assert proc.returncode != 0
    assert_clean_error(proc)
    assert "nothing could be processed" in proc.stderr


def test_unreadable_video_is_one_line_error(tmp_path, classifier_model):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    proc = run_cli("detect", bad, "--out", tmp_path / "o.mp4")
    assert proc.returncode != 0
    assert_clean_error(proc)
    assert "cannot be read as a video" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_detect_input(tmp_path, classifier_model):
    proc = run_cli("detect", tmp_path / "gone.mp4", "--out", tmp_path / "o.mp4")
    assert proc.returncode != 0
    assert_clean_error(proc)


def test_a_model_file_that_is_not_a_classifier_is_one_line_error(photos, tmp_path, classifier_model):
    import onnx

    from maskwatch.detect.retinaface import DEFAULT_MODEL

    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    named = tmp_path / "named.onnx"  # classifier-shaped, but neither its side nor input_size metadata says the size
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("ReduceMean", ["input"], ["probs"], axes=[1, 2], keepdims=0)],
        "g",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", "H", "W", 3])],
        [onnx.helper.make_tensor_value_info("probs", onnx.TensorProto.FLOAT, ["N", 3])],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)], ir_version=8), named)
    for model, message in (
        (garbage, "not a usable ONNX model"),
        (DEFAULT_MODEL, "not a mask classifier"),
        (named, "input size unknown"),
    ):
        for args in (
            ("predict", photos, "-o", tmp_path / "p.json", "--classifier", model),
            ("classify", photos, "-o", tmp_path / "c.json", "--classifier", model),
        ):
            proc = run_cli(*args)
            assert proc.returncode == 2, proc.stderr
            assert_clean_error(proc)
            assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_int8_classifier_is_default_only_while_it_matches_the_fp32_model(tmp_path, monkeypatch, classifier_model):
    import hashlib

    import onnx

    from maskwatch.classify import classifier

    int8 = onnx.load(str(classifier.DEFAULT_MODEL))  # stands in for a quantised copy: only its metadata is read here
    int8.metadata_props.add(key="fp32_sha256", value=hashlib.sha256(classifier.DEFAULT_MODEL.read_bytes()).hexdigest())
    monkeypatch.setattr(classifier, "INT8_MODEL", tmp_path / "mask_classifier_int8.onnx")
    assert classifier.default_model() == classifier.DEFAULT_MODEL  # none made
    onnx.save(int8, str(classifier.INT8_MODEL))
    assert classifier.default_model() == classifier.INT8_MODEL
    retrained = tmp_path / "mask_classifier.onnx"
    retrained.write_bytes(classifier.DEFAULT_MODEL.read_bytes() + b"\x00")  # any other FP32 file
    monkeypatch.setattr(classifier, "DEFAULT_MODEL", retrained)
    assert classifier.default_model() == retrained


def test_fast_mode_runs_the_light_classifier_while_it_stands_in_for_the_shipped_one(
    tmp_path, monkeypatch, classifier_model
):
    import hashlib

    import onnx

    from maskwatch.classify import classifier
    from maskwatch.pipeline import MODES

    monkeypatch.setattr(classifier, "LIGHT_MODEL", tmp_path / "mask_classifier_light.onnx")
    monkeypatch.setattr(classifier, "INT8_MODEL", tmp_path / "mask_classifier_int8.onnx")
    fast = MODES["fast"]
    assert fast.classifier(None) == classifier.DEFAULT_MODEL  # no light classifier, no INT8 copy: the shipped file
    light = onnx.load(str(classifier.DEFAULT_MODEL))  # stands in for a light model: only its metadata is read here
    made_from = hashlib.sha256(classifier.DEFAULT_MODEL.read_bytes()).hexdigest()
    light.metadata_props.add(key="light_for", value=made_from)
    onnx.save(light, str(classifier.LIGHT_MODEL))
    assert fast.classifier(None) == classifier.LIGHT_MODEL
    assert fast.classifier(tmp_path / "given.onnx") == tmp_path / "given.onnx"  # --classifier wins
    assert MODES["accurate"].classifier(None) is None  # the shipped classifier
    int8 = onnx.load(str(classifier.DEFAULT_MODEL))  # an INT8 copy of the same file beside it
    int8.metadata_props.add(key="fp32_sha256", value=made_from)
    onnx.save(int8, str(classifier.INT8_MODEL))
    assert fast.classifier(None) == classifier.LIGHT_MODEL  # still the light one, not the shipped one in INT8
    retrained = tmp_path / "mask_classifier.onnx"
    retrained.write_bytes(classifier.DEFAULT_MODEL.read_bytes() + b"\x00")
    monkeypatch.setattr(classifier, "DEFAULT_MODEL", retrained)
    assert fast.classifier(None) == retrained  # the copies are of another file now
