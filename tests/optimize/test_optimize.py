"""Static INT8 quantisation: a tiny classifier built here, the real detector on a few shared photos."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from maskwatch.classify import MaskClassifier
from maskwatch.core.errors import UserError
from maskwatch.optimize import quantize_classifier, quantize_detector, sample_crops
from maskwatch.optimize.cli import app

SIZE = 16


def tiny_classifier(path: Path, scaled: bool = True) -> Path:
    """A classifier under the maskwatch ONNX contract: [N, S, S, 3] BGR 0..255 in, 3-class softmax out."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.15, (8, 3, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (8, 8, 3, 3)).astype(np.float32)
    fc = rng.normal(0, 2.0, (8, 3)).astype(np.float32)
    inits = [
        numpy_helper.from_array(a, n)
        for a, n in (
            (w1, "w1"),
            (np.zeros(8, np.float32), "b1"),
            (w2, "w2"),
            (np.zeros(8, np.float32), "b2"),
            (fc, "fc"),
            (np.zeros(3, np.float32), "fcb"),
            (np.array([103.5, 116.3, 123.7], np.float32).reshape(1, 3, 1, 1), "mean"),
            *(
                [(np.array([1 / 57.4, 1 / 57.1, 1 / 58.4], np.float32).reshape(1, 3, 1, 1), "inv_std")]
                if scaled
                else []
            ),
        )
    ]
    nodes = [
        helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Sub", ["nchw", "mean"], ["centred" if scaled else "x0"]),  # MaskNet exports only this
        *([helper.make_node("Mul", ["centred", "inv_std"], ["x0"])] if scaled else []),
        helper.make_node("Conv", ["x0", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc", "fcb"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (("classes", "mask,no_mask,incorrect"), ("input_size", str(SIZE)), ("crop_margin", "0.2")):
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def crops(n: int, seed: int) -> list[np.ndarray]:
    """112x112 BGR crops with a coloured blob on a coloured background, so the classes' scores vary."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = np.full((112, 112, 3), rng.integers(0, 256, 3), np.uint8)
        cv2.circle(
            img,
            tuple(int(v) for v in rng.integers(20, 92, 2)),
            int(rng.integers(10, 40)),
            tuple(int(v) for v in rng.integers(0, 256, 3)),
            -1,
        )
        out.append(img)
    return out


@pytest.fixture(scope="module")
def fp32_model(tmp_path_factory) -> Path:
    return tiny_classifier(tmp_path_factory.mktemp("tiny") / "tiny.onnx")


@pytest.mark.parametrize(("fmt", "marker"), [("qdq", "QuantizeLinear"), ("qoperator", "QLinearConv")])
def test_quantized_classifier_keeps_contract_and_predictions(fp32_model, tmp_path, fmt, marker):
    out = quantize_classifier(fp32_model, tmp_path / f"int8_{fmt}.onnx", crops(64, seed=1), fmt=fmt)
    model = onnx.load(str(out))
    ops = {n.op_type for n in model.graph.node}
    assert marker in ops
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["classes"] == "mask,no_mask,incorrect" and meta["input_size"] == str(SIZE)
    assert meta["quantization"].startswith(f"int8 static {fmt}")
    assert meta["fp32_sha256"] == hashlib.sha256(fp32_model.read_bytes()).hexdigest()
    if fmt == "qdq":  # per-channel: the first conv's weight has one scale per output channel
        scales = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer if i.name.endswith("_scale")}
        assert any(v.shape == (8,) for v in scales.values())

    held_out = np.stack(crops(64, seed=2))
    p32 = MaskClassifier(fp32_model, threads=1).predict(held_out)
    p8 = MaskClassifier(out, threads=1).predict(held_out)  # loads: metadata and the input contract survive
    assert p8.shape == (64, 3)
    assert np.abs(p8.sum(1) - 1).max() < 1e-3
    assert np.abs(p8 - p32).max() < 0.05
    assert (p8.argmax(1) == p32.argmax(1)).mean() >= 0.9
    assert p32.max(1).std() > 0.02  # the check means something: the tiny model's outputs do vary


@pytest.mark.parametrize("scaled", [True, False], ids=["sub-mul", "sub-only"])
def test_input_normalisation_becomes_an_exact_float_conv(tmp_path, scaled):
    from maskwatch.optimize.quantize import _affine_to_conv

    fp32_model = tiny_classifier(tmp_path / "tiny.onnx", scaled)
    folded = _affine_to_conv(onnx.load(str(fp32_model)))
    ops = [n.op_type for n in folded.graph.node]
    assert "Sub" not in ops and "Mul" not in ops and ops[:2] == ["Transpose", "Conv"]
    onnx.save(folded, str(tmp_path / "folded.onnx"))
    x = np.stack(crops(8, seed=5))
    a = MaskClassifier(fp32_model, threads=1).predict(x)
    b = MaskClassifier(tmp_path / "folded.onnx", threads=1).predict(x)
    assert np.abs(a - b).max() < 1e-5
    # in the INT8 model it stays float: the quantised graph starts Transpose -> Conv, then QuantizeLinear
    int8 = onnx.load(str(quantize_classifier(fp32_model, tmp_path / "q.onnx", crops(16, seed=6))))
    first = [n.op_type for n in int8.graph.node if n.op_type != "DequantizeLinear"][:3]
    assert first == ["Transpose", "Conv", "QuantizeLinear"]


def test_bad_input_is_a_user_error(fp32_model, tmp_path):
    with pytest.raises(UserError, match="format"):
        quantize_classifier(fp32_model, tmp_path / "x.onnx", crops(4, 0), fmt="int4")
    with pytest.raises(UserError, match="not found"):
        quantize_classifier(tmp_path / "missing.onnx", tmp_path / "x.onnx", crops(4, 0))
    with pytest.raises(UserError, match="no calibration crops"):
        quantize_classifier(fp32_model, tmp_path / "x.onnx", [])


def write_crop_set(root: Path) -> Path:
    """A crop set under the shared contract: crops/<class>/<id>.jpg and manifest.csv."""
    rows = []
    for i, img in enumerate(crops(24, seed=3)):
        label = ("mask", "no_mask", "incorrect")[i % 3]
        split = "val" if i >= 18 else "train"
        rel = Path("crops") / label / f"c{i}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), img)
        rows.append(
            {
                "path": str(rel),
                "label": label,
                "source": "synthetic",
                "split": split,
                "group": f"g{i}",
                "image": f"/nowhere/{i}.jpg",
                "box": "0 0 10 10",
                "face_px": "10",
                "brightness": "100",
            }
        )
    with (root / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def test_sample_crops_draws_train_split_evenly(tmp_path):
    root = write_crop_set(tmp_path)
    picked = sample_crops(root, n=9, split="train")
    assert len(picked) == 9 and all(c.shape == (112, 112, 3) for c in picked)
    with pytest.raises(UserError, match="split == test"):
        sample_crops(root, n=9, split="test")


def test_cli_quantizes_classifier_and_rejects_bad_kind(fp32_model, tmp_path):
    root = write_crop_set(tmp_path / "set")
    out = tmp_path / "cli_int8.onnx"
    result = CliRunner().invoke(
        app,
        [
            "quantize",
            "classifier",
            "--crops",
            str(root),
            "--model",
            str(fp32_model),
            "--out",
            str(out),
            "--calib",
            "12",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.is_file() and str(out) in result.output
    result = CliRunner().invoke(app, ["quantize", "camera", "--crops", str(root)])
    assert isinstance(result.exception, UserError) and "classifier, detector" in str(result.exception)


def test_quantized_detector_finds_the_same_faces(shared_data, tmp_path):
    from maskwatch.core.media import read_image
    from maskwatch.detect import RetinaFaceDetector
    from maskwatch.detect.retinaface import DEFAULT_MODEL

    photos = [read_image(p) for p in sorted((shared_data / "andrewmvd" / "images").glob("*"))[:4]]
    out = quantize_detector(DEFAULT_MODEL, tmp_path / "det_int8.onnx", photos, input_sizes=(320,), fmt="qdq")
    fp32 = RetinaFaceDetector(DEFAULT_MODEL, input_size=320, threads=1)
    int8 = RetinaFaceDetector(out, input_size=320, threads=1)
    found = matched = 0
    for photo in photos:
        a, b = fp32.detect(photo), int8.detect(photo)
        found += len(a)
        for box in a.xyxy:
            if len(b):
                x1, y1 = np.maximum(box[:2], b.xyxy[:, :2]).T
                x2, y2 = np.minimum(box[2:], b.xyxy[:, 2:]).T
                inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
                union = (
                    (box[2] - box[0]) * (box[3] - box[1])
                    + (b.xyxy[:, 2] - b.xyxy[:, 0]) * (b.xyxy[:, 3] - b.xyxy[:, 1])
                    - inter
                )
                matched += bool((inter / union).max() >= 0.5)
    assert found >= 5
    assert matched / found >= 0.8


def test_percentile_calibration_and_detector_method_guard(fp32_model, tmp_path):
    out = quantize_classifier(fp32_model, tmp_path / "pct.onnx", crops(32, seed=4), method="percentile")
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert "calibration=percentile" in meta["quantization"]
    with pytest.raises(UserError, match="minmax"):
        quantize_detector(fp32_model, tmp_path / "d.onnx", crops(2, 0), input_sizes=(64,), method="entropy")
