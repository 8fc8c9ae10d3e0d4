"""The face detector's PyTorch rebuild (parity with ONNX Runtime), its training maths, a tiny seeded fine-tuning run
that exports an ONNX file RetinaFaceDetector loads, and the choice of detector model in the config and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from maskwatch.core.errors import UserError
from maskwatch.core.media import read_image
from maskwatch.detect import BoxCalibration, RetinaFaceDetector
from maskwatch.detect.anchors import decode_boxes, prior_boxes
from maskwatch.detect.models import DEFAULT_DETECTOR, MODELS, resolve_detector
from maskwatch.detect.retinaface import DEFAULT_MODEL, MIN_SIZES, STEPS
from synthetic_images import scene

torch = pytest.importorskip("torch")

from maskwatch.cli import app  # noqa: E402
from maskwatch.train.detector.data import AugmentConfig, make_sample, uncalibrate  # noqa: E402
from maskwatch.train.detector.export import ExportModel  # noqa: E402
from maskwatch.train.detector.loss import LossConfig, encode, match, multibox_loss  # noqa: E402
from maskwatch.train.detector.model import pretrained  # noqa: E402
from maskwatch.train.detector.train import DetectorTrainConfig, train_detector  # noqa: E402

FOLDERS = ("andrewmvd", "jolignier")


def _photos(shared: Path, per_folder: int) -> list[Path]:
    return [p for f in FOLDERS for p in sorted((shared / f / "images").glob("*.jpg"))[:per_folder]]


@pytest.mark.parametrize("input_size", [320, 640])
def test_torch_rebuild_matches_onnx_runtime_on_real_photos(shared_data, input_size):
    detector = RetinaFaceDetector(DEFAULT_MODEL, input_size=input_size, threads=1)
    model = ExportModel(pretrained("leaky")).eval()
    for path in _photos(shared_data, 2):
        blob, _ = detector.prepare(read_image(path))
        expected = detector.session.run(None, {detector.input_name: blob})
        with torch.no_grad():
            got = [t.numpy() for t in model(torch.from_numpy(blob))]
        for name, a, b in zip(("loc", "conf", "landmarks"), expected, got, strict=True):
            assert a.shape == b.shape, name
            assert np.abs(a - b).max() < 5e-4, (name, path.name, float(np.abs(a - b).max()))


def test_relu_variant_keeps_the_weights_and_changes_only_the_activation():
    leaky, relu = pretrained("leaky"), pretrained("relu")
    for (name, a), (_, b) in zip(leaky.state_dict().items(), relu.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    x = torch.from_numpy(scene(96, 64, 0).astype(np.float32) - 110).permute(2, 0, 1)[None]
    with torch.no_grad():
        assert not torch.allclose(leaky(x)[1], relu(x)[1])
    with pytest.raises(ValueError, match="activation"):
        pretrained("gelu")


def test_encode_inverts_the_detectors_decoding():
    priors = torch.from_numpy(prior_boxes(64, 64, STEPS, MIN_SIZES).copy())
    boxes = torch.tensor([[0.1, 0.2, 0.4, 0.6]]).repeat(len(priors), 1)
    decoded = decode_boxes(encode(boxes, priors).numpy(), priors.numpy())
    np.testing.assert_allclose(decoded, boxes.numpy(), atol=1e-5)


def test_matching_gives_each_face_an_anchor_and_ignores_cut_faces():
    size = 128
    priors = torch.from_numpy(prior_boxes(size, size, STEPS, MIN_SIZES).copy())
    face = torch.tensor([[40.0, 40.0, 72.0, 76.0]]) / size
    cut = torch.tensor([[0.0, 100.0, 10.0, 128.0]]) / size
    state, offsets, _ = match(face, cut, priors, LossConfig())
    positives = torch.nonzero(state == 1).flatten()
    assert len(positives) >= 1 and (state == -1).any() and (state == 0).sum() > len(priors) // 2
    decoded = decode_boxes(offsets[positives].numpy(), priors[positives].numpy())
    np.testing.assert_allclose(decoded, face.repeat(len(positives), 1).numpy(), atol=1e-5)
    # hard negative mining keeps 7 negatives per positive, and a perfect prediction scores (almost) no loss
    logits = torch.zeros(1, len(priors), 2)
    logits[0, :, 0] = 20.0
    logits[0, positives, :] = torch.tensor([0.0, 20.0])
    loss = multibox_loss(
        offsets[None].clone(),
        logits,
        torch.zeros(1, len(priors), 10),
        state[None],
        offsets[None],
        torch.zeros(1, len(priors), 10),
        LossConfig(),
    )
    assert float(loss["loss"]) < 1e-6 and int(loss["positives"]) == len(positives)


def test_uncalibrate_is_the_inverse_of_the_box_calibration():
    offsets = (-0.01, 0.11, 0.03, 0.06)
    annotated = np.array([[10.0, 20.0, 50.0, 70.0], [100.0, 5.0, 180.0, 120.0]], np.float32)
    raw = uncalibrate(annotated, offsets)
    np.testing.assert_allclose(BoxCalibration(offsets).apply(raw), annotated, atol=1e-4)


def test_training_windows_keep_their_boxes_on_the_faces():
    image = np.full((300, 400, 3), 30, np.uint8)
    faces = np.array([[50, 60, 90, 110], [250, 150, 330, 250]], np.float32)
    for x1, y1, x2, y2 in faces.astype(int):
        image[y1:y2, x1:x2] = 255
    rng = np.random.default_rng(0)
    sizes = []
    for _ in range(40):
        sample = make_sample(image, faces, 128, rng, AugmentConfig(colour=False))
        assert sample.image.shape == (128, 128, 3)
        for x1, y1, x2, y2 in sample.boxes:
            inner = sample.image[int(y1) + 2 : int(y2) - 1, int(x1) + 2 : int(x2) - 1]
            if inner.size:
                assert inner.mean() > 200
            sizes.append(max(x2 - x1, y2 - y1))
    assert min(sizes) < 30 and max(sizes) > 60  # faces drawn at many scales


def _tiny_manifest(shared: Path, out: Path, per_folder: int) -> Path:
    rows = [
        {
            "path": f"crops/{i}.jpg",
            "label": "mask",
            "source": p.parts[-3],
            "split": "train" if i % 4 else "val",
            "group": f"g{i}",
            "image": str(p),
        }
        for i, p in enumerate(_photos(shared, per_folder))
    ]
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def test_tiny_seeded_training_run_exports_a_detector_that_loads(shared_data, tmp_path):
    manifest = _tiny_manifest(shared_data, tmp_path, 4)
    runs = []
    for name in ("a", "b"):
        cfg = DetectorTrainConfig(
            [str(shared_data / f) for f in FOLDERS],
            str(manifest),
            str(tmp_path / name),
            activation="relu",
            epochs=1,
            seed=3,
            sizes=((128, 2, 1.0),),
            tune_share=0.3,
            eval_size=320,
            threads=1,
            max_steps=2,
            progress=False,
        )
        runs.append(train_detector(cfg, log=lambda msg: None))
    metrics = [json.loads((r / "metrics.jsonl").read_text().splitlines()[-1]) for r in runs]
    assert metrics[0]["loss"] == metrics[1]["loss"] > 0  # seeded: the same losses twice
    assert json.loads((runs[0] / "parity.json").read_text())["ok"]
    detector = RetinaFaceDetector(runs[0] / "model.onnx", input_size=320, min_score=0.02)
    dets = detector.detect(read_image(_photos(shared_data, 1)[0]))
    assert dets.xyxy.shape[1] == 4 and dets.landmarks.shape[1:] == (5, 2)
    from maskwatch.accel.onnx_torch import OnnxModule  # the GPU backend runs the exported graph too

    blob, _ = detector.prepare(read_image(_photos(shared_data, 1)[0]))
    with torch.no_grad():
        _, conf, _ = OnnxModule(runs[0] / "model.onnx")(torch.from_numpy(blob))
    expected = detector.session.run(None, {detector.input_name: blob})
    assert np.abs(conf.numpy() - expected[1]).max() < 1e-4


def test_detector_models_by_name_and_path(tmp_path):
    assert resolve_detector(None).name == DEFAULT_DETECTOR
    assert resolve_detector("retinaface_mnet025").path == DEFAULT_MODEL
    given = resolve_detector(str(DEFAULT_MODEL))
    assert given.path == DEFAULT_MODEL and given.calibration == MODELS[DEFAULT_DETECTOR].calibration
    copy = tmp_path / "mine.onnx"
    copy.write_bytes(DEFAULT_MODEL.read_bytes())
    (tmp_path / "mine_calibration.json").write_text('{"offsets": [0, 0.1, 0, 0.05]}')
    assert resolve_detector(str(copy)).calibration == tmp_path / "mine_calibration.json"
    with pytest.raises(UserError, match="retinaface_mnet025"):
        resolve_detector("yolo")
    with pytest.raises(UserError):
        resolve_detector(str(tmp_path / "missing.onnx"))
    assert set(MODELS) >= {"retinaface_mnet025", "retinaface_mnet025_ft"}


def test_config_picks_the_detector_model(tmp_path):
    from pydantic import ValidationError

    from maskwatch.config import AppConfig, CameraConfig, DetectorConfig

    assert DetectorConfig().model == DEFAULT_DETECTOR
    assert DetectorConfig(model="retinaface_mnet025_ft").model == "retinaface_mnet025_ft"
    with pytest.raises(ValidationError, match=r"detector|retinaface"):
        DetectorConfig(model="yolo")
    camera = CameraConfig(name="door", source="rtsp://camera/stream")
    config = AppConfig(cameras=[camera], detector=DetectorConfig(model="mine.onnx")).resolve_paths(tmp_path)
    assert config.detector.model == str(tmp_path / "mine.onnx")


def test_cli_detector_option_and_bad_input(shared_data, tmp_path):
    runner = CliRunner()
    manifest = _tiny_manifest(shared_data, tmp_path, 4)
    image = _photos(shared_data, 1)[0]
    result = runner.invoke(app, ["predict", str(image), "-o", str(tmp_path / "p.json"), "--detector", "yolo"])
    assert result.exit_code != 0 and "retinaface_mnet025" in str(result.exception or result.output)
    result = runner.invoke(
        app, ["predict", str(image), "-o", str(tmp_path / "p.json"), "--detector", "retinaface_mnet025"]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "det.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "detector",
            str(shared_data / "andrewmvd"),
            "--manifest",
            str(manifest),
            "--input-size",
            "320",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())["folders"]["andrewmvd"]
    assert 0 <= figures["face_ap"] <= 1 and figures["n_images"] == 1
    result = runner.invoke(app, ["train-detector", str(tmp_path / "nowhere"), "--manifest", str(manifest)])
    assert result.exit_code != 0 and "no such folder" in str(result.exception)


def test_detector_input_drawing_is_unchanged_by_cv2_threads():
    # the training windows are drawn with OpenCV: a fixed seed must give the same window whatever else ran before
    image = scene(200, 150, 1)
    faces = np.array([[20, 30, 60, 80]], np.float32)
    a = make_sample(image, faces, 96, np.random.default_rng(5))
    cv2.setNumThreads(1)
    b = make_sample(image, faces, 96, np.random.default_rng(5))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)
