"""A running service on a clip: its events carry the classifier version; `models promote` swaps a new classifier in
without a restart and the next events carry its version; `models rollback` brings the shipped one back."""

from __future__ import annotations

import shutil

import pytest
import yaml
from prometheus_client import generate_latest
from typer.testing import CliRunner

from helpers_service.servers import wait_for
from maskwatch.classify.classifier import default_model, model_version
from maskwatch.cli import app
from maskwatch.config import load_config
from maskwatch.service import Service

WHOLE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


@pytest.fixture
def running(tmp_path, test_clip, classifier_model):
    from maskwatch.pipeline import MaskPipeline

    config_path = tmp_path / "maskwatch.yaml"
    camera = {"name": "door-cam", "source": str(test_clip), "fps": 5}
    camera["zones"] = [{"name": "door", "polygon": WHOLE, "restricted": True}]
    config_path.write_text(
        yaml.safe_dump(
            {
                "cameras": [camera],
                "detector": {"input_size": 640, "threads": 1},
                "rules": {"min_seconds": 0.5, "cooldown_seconds": 1.0},
                "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
                "collect": {"enabled": True},
            }
        )
    )
    pipeline = MaskPipeline.from_defaults(input_size=640, min_score=0.5, threads=1)  # its own: the swap changes it
    service = Service(load_config(config_path), config_path, pipeline=pipeline)
    service.start()
    yield service, config_path
    service.stop()


def test_promote_applies_to_the_next_events_and_rollback_returns(running, classifier_model, tmp_path):
    service, config_path = running
    shipped = model_version(default_model())  # the shipped classifier as it runs: its INT8 copy
    first = wait_for(lambda: service.events(limit=1), 30)
    assert first and first[0]["model_version"] == shipped == service.stats()["model_version"]

    candidate = shutil.copy(classifier_model, tmp_path / "site_tuned.onnx")
    promoted = CliRunner().invoke(app, ["models", "promote", str(candidate), "--config", str(config_path)])
    assert promoted.exit_code == 0, promoted.output
    new = model_version(candidate)
    assert wait_for(lambda: service.model_version == new, 5), "the promoted classifier was not swapped in"
    swapped_after = max(e["id"] for e in service.events(limit=1))
    later = wait_for(lambda: [e for e in service.events() if e["id"] > swapped_after], 30)
    assert later and {e["model_version"] for e in later} == {new}
    assert service.stats()["model_version"] == new
    assert service.case_collector is not None and service.case_collector.model_version == new  # cases kept from now
    assert f'maskwatch_classifier_info{{version="{new}"}} 1.0' in generate_latest(service.metrics_registry).decode()
    assert service.event(first[0]["id"])["model_version"] == shipped  # the old events keep theirs

    back = CliRunner().invoke(app, ["models", "rollback", "--config", str(config_path)])
    assert back.exit_code == 0 and shipped in back.output
    assert wait_for(lambda: service.model_version == shipped, 5)
