"""Training smoke test on a tiny crop dataset cut from real andrewmvd photos, plus the ONNX contract and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from labelled_crops import write_dataset
from maskwatch.classify import MaskClassifier
from maskwatch.cli import app
from maskwatch.core.errors import UserError
from maskwatch.core.labels import CLASSES
from maskwatch.train.train import TrainConfig, train

WANTED = {"mask": 36, "no_mask": 24, "incorrect": 10}


@pytest.fixture(scope="module")
def tiny_dataset(shared_data, tmp_path_factory) -> Path:
    """A few dozen real face crops; every 4th photo goes to val, so no photo straddles."""
    return write_dataset(shared_data, tmp_path_factory.mktemp("tiny_crops"), WANTED, val_every=4)


def _run(dataset: Path, out: Path, seed: int = 0, **options) -> list[dict]:
    train(
        TrainConfig(
            str(dataset), str(out), epochs=1, seed=seed, input_size=64, batch_size=16, progress=False, **options
        ),
        log=lambda _: None,
    )
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for line in lines:
        line.pop("epoch_s")  # wall time is the one thing a seed cannot fix
    return lines


@pytest.fixture(scope="module")
def tiny_run(tiny_dataset, tmp_path_factory) -> tuple[Path, list[dict]]:
    run = tmp_path_factory.mktemp("tiny_run")
    return run, _run(tiny_dataset, run)


def test_train_smoke_run_folder_parity_and_reproducibility(tiny_dataset, tiny_run, tmp_path):
    run, first = tiny_run
    for name in ("config.json", "metrics.jsonl", "best.pt", "model.onnx", "parity.json", "val_report.json"):
        assert (run / name).is_file(), name
    assert len(first) == 1 and first[0]["epoch"] == 1
    assert set(first[0]["f1"]) == set(CLASSES)
    assert np.isfinite(first[0]["train_loss"]) and 0 <= first[0]["accuracy"] <= 1

    parity = json.loads((run / "parity.json").read_text())
    assert parity["ok"] and parity["argmax_equal"] and parity["max_abs_diff"] < 1e-4
    assert parity["n"] == json.loads((run / "config.json").read_text())["n_val"] > 0

    # Same seed, same numbers; another seed, other numbers.
    assert _run(tiny_dataset, tmp_path / "b") == first
    assert _run(tiny_dataset, tmp_path / "c", seed=1) != first


def test_weight_average_is_what_gets_scored_and_exported(tiny_dataset, tiny_run, tmp_path):
    import torch

    raw = torch.load(tiny_run[0] / "best.pt", weights_only=False)["state_dict"]
    lines = _run(tiny_dataset, tmp_path / "ema", ema_decay=0.9)
    averaged = torch.load(tmp_path / "ema" / "best.pt", weights_only=False)["state_dict"]
    assert averaged.keys() == raw.keys()
    # Same seed, same steps: only the averaging differs, and it moves every layer's weights.
    assert all(not torch.equal(averaged[k], raw[k]) for k in raw if k.endswith("weight"))
    report = json.loads((tmp_path / "ema" / "val_report.json").read_text())
    assert report["val"]["accuracy"] == lines[0]["accuracy"]  # the exported network is the one early stopping scored
    assert json.loads((tmp_path / "ema" / "parity.json").read_text())["ok"]
    assert _run(tiny_dataset, tmp_path / "ema2", ema_decay=0.9) == lines


def test_a_light_run_names_the_classifier_it_stands_in_for(tiny_dataset, tmp_path, classifier_model):
    from maskwatch.classify.classifier import onnx_metadata

    _run(tiny_dataset, tmp_path / "light", light_for=str(classifier_model))
    stands_in_for = hashlib.sha256(classifier_model.read_bytes()).hexdigest()
    assert onnx_metadata(tmp_path / "light" / "model.onnx")["light_for"] == stands_in_for
    with pytest.raises(UserError, match=r"--light-for: .*absent\.onnx not found"):
        _run(tiny_dataset, tmp_path / "none", light_for=str(tmp_path / "absent.onnx"))


def test_flip_average_exports_the_mean_of_each_crop_and_its_mirror(tiny_dataset, tiny_run, tmp_path):
    from maskwatch.classify.classifier import onnx_metadata

    assert _run(tiny_dataset, tmp_path / "flip", flip_average=True) == tiny_run[1]  # the training is the same
    plain = ort.InferenceSession(str(tiny_run[0] / "model.onnx"), providers=["CPUExecutionProvider"])
    flipped = ort.InferenceSession(str(tmp_path / "flip" / "model.onnx"), providers=["CPUExecutionProvider"])
    crops = [cv2.imread(str(p)) for p in sorted(tiny_dataset.glob("crops/*/*.jpg"))[:6]]
    batch = np.stack([cv2.resize(c, (64, 64), interpolation=cv2.INTER_AREA) for c in crops]).astype(np.float32)
    mirrored = np.ascontiguousarray(batch[:, :, ::-1])
    both = (plain.run(["probs"], {"input": batch})[0] + plain.run(["probs"], {"input": mirrored})[0]) / 2
    np.testing.assert_allclose(flipped.run(["probs"], {"input": batch})[0], both, atol=1e-5)
    assert onnx_metadata(tmp_path / "flip" / "model.onnx")["flip_average"] == "true"
    assert "flip_average" not in onnx_metadata(tiny_run[0] / "model.onnx")
    assert json.loads((tmp_path / "flip" / "parity.json").read_text())["ok"]


def test_exported_onnx_follows_the_classifier_contract(tiny_dataset, tiny_run):
    path = tiny_run[0] / "model.onnx"
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    trained_on = hashlib.sha256((tiny_dataset / "manifest.csv").read_bytes()).hexdigest()
    assert meta == {
        "classes": "mask,no_mask,incorrect",
        "input_size": "64",
        "crop_margin": "0.2",
        "train_manifest_sha256": trained_on,
    }
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (outp,) = session.get_inputs(), session.get_outputs()
    assert inp.name == "input" and inp.type == "tensor(float)" and inp.shape[1:] == [64, 64, 3]
    assert isinstance(inp.shape[0], str)  # dynamic batch
    assert outp.name == "probs"
    crops = [cv2.imread(str(p)) for p in sorted(tiny_dataset.glob("crops/*/*.jpg"))[:5]]
    batch = np.stack([cv2.resize(c, (64, 64), interpolation=cv2.INTER_AREA) for c in crops]).astype(np.float32)
    for n in (1, 5):
        probs = session.run(["probs"], {"input": batch[:n]})[0]
        assert probs.shape == (n, 3)
        np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
        assert (probs >= 0).all()
    # The runtime side reads the same file: 112 px crops in, resized to the model's 64 px by MaskClassifier.
    classifier = MaskClassifier(path)
    assert classifier.input_size == 64 and classifier.crop_margin == 0.2
    np.testing.assert_allclose(classifier.predict(crops), session.run(["probs"], {"input": batch})[0], atol=1e-5)


def test_bad_input_is_one_line_user_error(tiny_dataset, tmp_path):
    with pytest.raises(UserError, match=r"no manifest\.csv"):
        train(TrainConfig(str(tmp_path), str(tmp_path / "run"), progress=False), log=lambda _: None)
    only_train = tmp_path / "only_train"
    only_train.mkdir()
    text = (tiny_dataset / "manifest.csv").read_text().replace(",val,", ",train,")
    (only_train / "manifest.csv").write_text(text)
    with pytest.raises(UserError, match="val split is empty"):
        train(TrainConfig(str(only_train), str(tmp_path / "run"), progress=False), log=lambda _: None)
    result = CliRunner().invoke(app, ["train", str(tmp_path / "missing"), "--out", str(tmp_path / "run")])
    assert isinstance(result.exception, UserError) and "no manifest.csv" in str(result.exception)
    assert "\n" not in str(result.exception)
    result = CliRunner().invoke(
        app, ["train", str(tiny_dataset), "--out", str(tmp_path / "run"), "--repeat-source", "web=two"]
    )
    assert isinstance(result.exception, UserError) and "SOURCE=K" in str(result.exception)
    result = CliRunner().invoke(app, ["train", str(tiny_dataset), "--out", str(tmp_path / "run"), "--ema", "1"])
    assert isinstance(result.exception, UserError) and "--ema must be" in str(result.exception)


def test_repeated_sources_appear_k_times_per_epoch():
    from maskwatch.train.train import epoch_indices

    indices = epoch_indices(np.array(["a", "b", "a", "c"]), {"a": 3, "c": 2})
    assert sorted(indices.tolist()) == [0, 0, 0, 1, 2, 2, 2, 3, 3]
    assert epoch_indices(np.array(["a", "b"]), {}).tolist() == [0, 1]


def test_user_crop_framing_replicates_the_side_columns_of_the_chosen_crops():
    import torch

    from maskwatch.train.augment import AugmentConfig, replicate_sides

    x = torch.arange(2 * 3 * 4 * 10, dtype=torch.float32).view(2, 3, 4, 10)
    cfg = AugmentConfig(user_crop=1.0, user_crop_aspect=(0.6, 0.6))  # bands of (1 - 0.6) / 2 * 10 = 2 columns
    out = replicate_sides(x, cfg, torch.Generator().manual_seed(0), torch.tensor([True, False]))
    torch.testing.assert_close(out[1], x[1])
    torch.testing.assert_close(out[0, ..., 2:8], x[0, ..., 2:8])
    torch.testing.assert_close(out[0, ..., :2], x[0, ..., 2:3].expand(3, 4, 2))
    torch.testing.assert_close(out[0, ..., 8:], x[0, ..., 7:8].expand(3, 4, 2))


def test_augmentation_without_user_crops_draws_nothing_for_them():
    """Turning the framing off leaves the random stream as it was, so older runs stay reproducible."""
    import torch

    from maskwatch.train.augment import AugmentConfig, augment_batch

    x = torch.randint(0, 256, (6, 16, 16, 3), dtype=torch.uint8)
    a = augment_batch(x, AugmentConfig(), torch.Generator().manual_seed(1))
    b = augment_batch(
        x, AugmentConfig(user_crop_scale=(3.0, 4.0), user_crop_aspect=(0.1, 0.2)), torch.Generator().manual_seed(1)
    )
    torch.testing.assert_close(a, b)
    c = augment_batch(x, AugmentConfig(user_crop=0.5), torch.Generator().manual_seed(1))
    assert not torch.equal(a, c)


def test_masknet_starts_from_the_detector_backbone():
    """Before training, MaskNet's features are exactly the shipped RetinaFace backbone's last stage output."""
    import torch

    from maskwatch.detect.retinaface import DEFAULT_MODEL, RetinaFaceDetector
    from maskwatch.train.model import MaskNet, Preprocess

    proto = onnx.load(str(DEFAULT_MODEL))
    last = [n for n in proto.graph.node if n.output[0].startswith("/fx/")][-1].output[0]
    proto.graph.output.append(onnx.helper.make_tensor_value_info(last, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).integers(0, 256, (1, 96, 96, 3)).astype(np.uint8)
    blob, _ = RetinaFaceDetector(input_size=96).prepare(image[0])  # the detector's own input preparation
    want = session.run([last], {session.get_inputs()[0].name: blob})[0]
    with torch.no_grad():
        got = MaskNet().features(Preprocess()(torch.from_numpy(image).float())).numpy()
    assert got.shape == want.shape == (1, 256, 3, 3)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
