"""`models spread`: the same tiny dataset trained with two seeds (smoke settings), each model scored on the val
crops; compare reads the spread file as the retraining noise."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from labelled_crops import write_dataset
from maskwatch.cli import app
from maskwatch.core.errors import UserError
from maskwatch.modelops.compare import compare
from maskwatch.modelops.spread import spread_figures


def test_spread_figures():
    runs = [
        {"accuracy": a, "macro_f1": 0.5, "unmasked_recall": 0.9, "false_alarm_rate": 0.1, "incorrect_f1": 0.2}
        for a in (0.80, 0.84, 0.82)
    ]
    acc = spread_figures(runs)["accuracy"]
    assert (
        acc["min"] == 0.80 and acc["max"] == 0.84 and abs(acc["mean"] - 0.82) < 1e-12 and abs(acc["std"] - 0.02) < 1e-9
    )


def test_spread_of_two_seeds_feeds_compare(shared_data, tmp_path):
    dataset = write_dataset(shared_data, tmp_path / "ds", {"mask": 40, "no_mask": 30, "incorrect": 10}, val_every=4)
    out = tmp_path / "spread"
    runner = CliRunner()
    args = ["models", "spread", str(dataset), "--out", str(out), "--seeds", "0,1", "--epochs", "1"]
    result = runner.invoke(app, [*args, "--input-size", "64", "--threads", "1", "--user-crop", "0.4"])
    assert result.exit_code == 0, result.output
    spread = json.loads((out / "spread.json").read_text())
    assert spread["seeds"] == [0, 1] and [r["seed"] for r in spread["runs"]] == [0, 1]
    assert spread["train_options"]["augment"]["user_crop"] == 0.4  # the shipped model's training settings
    assert spread["runs"][0]["version"] != spread["runs"][1]["version"]  # other seeds, other weights
    for figure in ("accuracy", "unmasked_recall", "macro_f1"):
        values = [r[figure] for r in spread["runs"]]
        assert spread[figure]["min"] == min(values) and spread[figure]["max"] == max(values)
    assert "accuracy: mean" in result.output
    again = runner.invoke(app, [*args, "--input-size", "64", "--threads", "2", "--user-crop", "0.4"])
    assert again.output.count("scored, not trained again") == 2  # an interrupted spread goes on where it stopped
    assert json.loads((out / "spread.json").read_text())["runs"][0]["version"] == spread["runs"][0]["version"]
    other = runner.invoke(app, [*args, "--input-size", "64", "--threads", "1", "--seeds", "0,2", "--epochs", "2"])
    assert "not trained again" not in other.output  # other settings: trained anew
    a, b = (out / f"seed{k}" / "model.onnx" for k in (0, 1))
    compared = runner.invoke(
        app, ["models", "compare", str(a), str(b), "--manifest", str(dataset), "--spread", str(out / "spread.json")]
    )
    assert compared.exit_code == 0, compared.output
    assert "verdict:" in compared.output and "trained on another manifest" not in compared.output
    # the same crops under another build's manifest (one crop fewer): the models say which split they learnt from
    lines = (dataset / "manifest.csv").read_text().splitlines()
    (dataset / "other.csv").write_text("\n".join(lines[:-1]) + "\n")
    other = compare(a, b, dataset / "other.csv")
    assert len(other["notes"]) == 2 and other["notes"][0].startswith("A was trained on another manifest")
    one = runner.invoke(app, ["models", "spread", str(dataset), "--seeds", "3"])
    assert isinstance(one.exception, UserError) and "at least two seeds" in str(one.exception)
