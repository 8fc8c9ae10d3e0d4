"""Exported cases in training: a cases export folder built with other data by `data build` is a source of its own,
which `train --cases-repeat K` (or --repeat-source NAME=K) weights; a misspelt source is refused."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from labelled_crops import street_voc, write_cases
from maskwatch.cli import app
from maskwatch.core.errors import UserError
from maskwatch.data import build_dataset
from maskwatch.data.manifest import read_manifest
from maskwatch.train.cases import case_sources, resolve_repeats


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cases_train")
    voc = street_voc(shared_data, tmp / "street")
    cases = write_cases(shared_data, tmp / "site_cases", {"mask": 12, "no_mask": 12, "incorrect": 4})
    out = build_dataset([voc, cases], tmp / "ds", val_fraction=0.25, workers=1, progress=False)
    return out.out, out.stats


def test_a_cases_export_is_a_source_of_the_build(built):
    dataset, stats = built
    rows = read_manifest(dataset)
    assert {r.source for r in rows} == {"street", "site_cases"}
    assert sum(r.source == "site_cases" for r in rows) >= 20  # most 96 px case crops have a face the detector finds
    assert stats["unknown_label_names"] == {"site_cases": {"not_a_face": 1}}  # left out, counted
    assert case_sources(rows) == {"site_cases"}
    assert resolve_repeats(rows, {}, 3) == {"site_cases": 3}
    assert resolve_repeats(rows, {"site_cases": 5, "street": 2}, 3) == {"site_cases": 5, "street": 2}
    with pytest.raises(UserError, match="no source site_case in the dataset"):
        resolve_repeats(rows, {"site_case": 2})
    street_only = [r for r in rows if r.source == "street"]
    with pytest.raises(UserError, match="no source of the dataset is a cases export"):
        resolve_repeats(street_only, {}, 2)


def test_train_weights_the_cases(built, tmp_path):
    dataset, _ = built
    args = ["train", str(dataset), "--out", str(tmp_path / "run"), "--epochs", "1", "--input-size", "64"]
    result = CliRunner().invoke(app, [*args, "--batch-size", "16", "--no-progress", "--cases-repeat", "3"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["source_repeat"] == {"site_cases": 3} and config["cases_repeat"] == 3
    assert (tmp_path / "run" / "model.onnx").is_file()
