"""`models promote | rollback | list` on a service's models folder: validated, copied, recorded, reversible down to
the shipped classifier, and read by the service at start (service.models.ActiveModel)."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from maskwatch.classify.classifier import default_model, model_version
from maskwatch.cli import app
from maskwatch.config import load_config
from maskwatch.core.errors import UserError
from maskwatch.core.paths import MODELS_DIR
from maskwatch.modelops.registry import listing, promote, read_history, rollback
from maskwatch.service.models import ActiveModel


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "maskwatch.yaml"
    path.write_text(
        yaml.safe_dump({"cameras": [{"name": "door", "source": "door.mp4"}], "storage": {"database": "data/events.db"}})
    )
    return path


def test_promote_rollback_list(classifier_model, tmp_path):
    folder = tmp_path / "models"
    first = shutil.copy(classifier_model, tmp_path / "retrained.onnx")
    second = shutil.copy(classifier_model, tmp_path / "retrained_again.onnx")
    shipped = model_version(classifier_model)
    entry = promote(first, folder)
    assert entry.version == model_version(first) and (folder / entry.file).read_bytes() == first.read_bytes()
    assert read_history(folder).active == entry and read_history(folder).previous == [None]
    with pytest.raises(UserError, match="already the active"):
        promote(first, folder)
    promote(second, folder)
    rows = listing(folder, shipped)
    assert [r["version"] for r in rows] == [shipped, model_version(first), model_version(second)]
    assert [r["active"] for r in rows] == [False, False, True]
    assert rollback(folder) == entry  # back to the first retrained one
    assert rollback(folder) is None  # back to the shipped one
    assert listing(folder, shipped)[0]["active"] is True
    with pytest.raises(UserError, match="shipped classifier is active already"):
        rollback(folder)
    assert (folder / entry.file).is_file()  # promoted files stay: promoting again needs no copy


def test_promote_refuses_what_is_not_a_mask_classifier(tmp_path):
    with pytest.raises(UserError, match="not found"):
        promote(tmp_path / "missing.onnx", tmp_path / "models")
    with pytest.raises(UserError, match="not a mask classifier"):
        promote(MODELS_DIR / "retinaface_mnet025.onnx", tmp_path / "models")
    assert not (tmp_path / "models" / "history.json").exists()
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "history.json").write_text("{not json")
    with pytest.raises(UserError, match="not a model history"):
        rollback(tmp_path / "models")


def test_cli_and_the_service_start_with_the_promoted_model(classifier_model, config, tmp_path):
    copy = shutil.copy(classifier_model, tmp_path / "site_tuned.onnx")
    runner = CliRunner()
    done = runner.invoke(app, ["models", "promote", str(copy), "--config", str(config)])
    assert done.exit_code == 0, done.output
    assert model_version(copy) in done.output
    folder = tmp_path / "data" / "models"  # beside storage.database
    assert json.loads((folder / "history.json").read_text())["active"]["version"] == model_version(copy)
    listed = runner.invoke(app, ["models", "list", "--config", str(config)])
    assert f"* {model_version(copy)}" in listed.output and "(shipped)" in listed.output
    active = ActiveModel(load_config(config))
    assert active.version == model_version(copy) and active.detector_config().classifier == (
        folder / model_version(copy) / "site_tuned.onnx"
    )
    back = runner.invoke(app, ["models", "rollback", "--models-dir", str(folder)])
    assert back.exit_code == 0 and "(shipped)" in back.output
    assert ActiveModel(load_config(config)).version == model_version(default_model())  # as shipped: INT8
    missing = runner.invoke(app, ["models", "list"])
    assert isinstance(missing.exception, UserError) and "--config" in str(missing.exception)
