"""A seed ensemble: members trained alike, one ONNX graph giving the mean of their probabilities."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from labelled_crops import write_dataset
from maskwatch.classify import MaskClassifier
from maskwatch.classify.classifier import onnx_metadata
from maskwatch.cli import app
from maskwatch.core.errors import UserError
from maskwatch.train.ensemble import combine_members, train_ensemble
from maskwatch.train.train import TrainConfig, train

WANTED = {"mask": 24, "no_mask": 16, "incorrect": 8}


@pytest.fixture(scope="module")
def dataset(shared_data, tmp_path_factory) -> Path:
    return write_dataset(shared_data, tmp_path_factory.mktemp("ensemble_crops"), WANTED, val_every=4)


def _config(dataset: Path, out: Path, seed: int = 3) -> TrainConfig:
    return TrainConfig(str(dataset), str(out), epochs=1, seed=seed, input_size=64, batch_size=16, progress=False)


@pytest.fixture(scope="module")
def ensemble(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ensemble")
    train_ensemble(_config(dataset, out), members=2, log=lambda _: None)
    return out


def _crops(dataset: Path) -> np.ndarray:
    from maskwatch.data.manifest import read_manifest
    from maskwatch.train.dataset import load_split

    return load_split(dataset, read_manifest(dataset), "val", 64).images


def test_members_are_the_runs_their_seeds_give(dataset, ensemble, tmp_path):
    for seed in (3, 4):
        member = ensemble / f"member-{seed}"
        for name in ("config.json", "metrics.jsonl", "best.pt", "model.onnx", "val_report.json"):
            assert (member / name).is_file(), name
        assert json.loads((member / "config.json").read_text())["seed"] == seed
    train(_config(dataset, tmp_path / "alone", seed=4), log=lambda _: None)
    alone = MaskClassifier(tmp_path / "alone" / "model.onnx").predict(_crops(dataset))
    assert np.array_equal(MaskClassifier(ensemble / "member-4" / "model.onnx").predict(_crops(dataset)), alone)


def test_the_ensemble_gives_the_mean_of_its_members_probabilities(dataset, ensemble):
    crops = _crops(dataset)
    members = [MaskClassifier(ensemble / f"member-{s}" / "model.onnx").predict(crops) for s in (3, 4)]
    got = MaskClassifier(ensemble / "model.onnx").predict(crops)
    assert np.allclose(got, np.mean(members, axis=0), atol=1e-5)
    assert not np.allclose(members[0], members[1], atol=1e-3)  # two seeds, two networks
    meta = onnx_metadata(ensemble / "model.onnx")
    member_config = json.loads((ensemble / "member-3" / "config.json").read_text())
    assert meta["members"] == "3,4" and meta["train_manifest_sha256"] == member_config["manifest_sha256"]
    assert json.loads((ensemble / "parity.json").read_text())["ok"]
    one = MaskClassifier(ensemble / "model_light.onnx").predict(crops)  # the fast mode's stand-in: the first member
    assert np.allclose(one, members[0], atol=1e-5)
    made_from = hashlib.sha256((ensemble / "model.onnx").read_bytes()).hexdigest()
    assert onnx_metadata(ensemble / "model_light.onnx")["light_for"] == made_from
    report = json.loads((ensemble / "val_report.json").read_text())
    assert len(report["members"]) == 2 and report["val"]["n"] == len(crops)


def test_members_trained_otherwise_are_refused(dataset, ensemble, tmp_path):
    other = tmp_path / "other"
    train(replace(_config(dataset, other), input_size=48), log=lambda _: None)
    with pytest.raises(UserError, match="differ in input_size"):
        combine_members([ensemble / "member-3", other], tmp_path / "mixed")
    assert not (tmp_path / "mixed" / "model.onnx").exists()


def test_members_below_one_is_a_one_line_error(dataset, tmp_path):
    result = CliRunner().invoke(app, ["train", str(dataset), "--out", str(tmp_path / "run"), "--members", "0"])
    assert isinstance(result.exception, UserError) and "--members must be at least 1" in str(result.exception)
    assert not (tmp_path / "run").exists()
