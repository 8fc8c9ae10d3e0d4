"""The improvement loop as one chain (issue 21): a service on a clip collects hard cases; they are labelled on the
Cases page in Chromium; `cases export` writes them; `data build` makes a dataset of them beside street photos;
`train` makes a (tiny) model of it; `models compare` judges it against the shipped one; `models promote` makes it
the running service's classifier, and the next event carries its version."""

from __future__ import annotations

from playwright import sync_api
from typer.testing import CliRunner

from helpers_service.servers import wait_for
from helpers_service.web_ui import chromium, served
from labelled_crops import street_voc
from maskwatch.classify.classifier import model_version
from maskwatch.cli import app
from maskwatch.data import build_dataset
from maskwatch.data.manifest import read_manifest

TOKEN = "loop-admin-token-5d1e"


def label_on_the_cases_page(base: str, keys: str) -> None:
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(20000)
        page.goto(f"{base}/cases?token={TOKEN}", wait_until="domcontentloaded")
        cards = page.locator("#case-grid li.case")
        sync_api.expect(cards.nth(len(keys) - 1)).to_be_visible()
        for n, key in enumerate(keys):
            page.keyboard.press(key)
            sync_api.expect(cards.nth(n)).not_to_have_attribute("data-label", "")


def test_hard_cases_become_a_promoted_model(tmp_path, test_clip, shared_data, classifier_model):
    from maskwatch.pipeline import MaskPipeline

    config = {
        "cameras": [{"name": "door-cam", "source": str(test_clip), "fps": 5}],
        "detector": {"input_size": 640, "threads": 1},
        # every face alerts, whatever the tiny model says: the event after the promotion is sure to come
        "rules": {"min_seconds": 0.5, "cooldown_seconds": 1.0, "alert_labels": ["mask", "no_mask", "incorrect"]},
        "storage": {"database": "data/events.db", "snapshots": "data/snapshots"},
        "collect": {"enabled": True, "unsure_margin": 0.9995},  # every face of the clip is unsure at this margin
        "ui": {"token": TOKEN},
    }
    pipeline = MaskPipeline.from_defaults(input_size=640, min_score=0.5, threads=1)  # its own: promote swaps it
    runner = CliRunner()
    (tmp_path / "service").mkdir()
    with served(tmp_path / "service", pipeline, config, TOKEN) as running:
        service, config_path = running["service"], tmp_path / "service" / "maskwatch.yaml"
        assert wait_for(lambda: service.case_collector.store.counts()["total"] >= 4, 60), "fewer than 4 cases"
        label_on_the_cases_page(running["base"], "1212")
        labels = lambda: service.case_collector.store.counts()["labels"]  # noqa: E731
        assert wait_for(lambda: labels()["mask"] == 2 and labels()["no_mask"] == 2, 5), labels()
        site = tmp_path / "sources" / "site"
        exported = runner.invoke(app, ["cases", "export", str(site), "--config", str(config_path)])
        assert exported.exit_code == 0, exported.output
        assert "exported 4 labelled crops" in exported.output

        street = street_voc(shared_data, tmp_path / "sources" / "street")
        built = build_dataset([street, site], tmp_path / "ds", val_fraction=0.25, workers=1, progress=False)
        assert "site" in {row.source for row in read_manifest(built.out)}
        run = tmp_path / "run"
        args = ["train", str(built.out), "--out", str(run), "--epochs", "1", "--input-size", "64"]
        trained = runner.invoke(app, [*args, "--batch-size", "16", "--no-progress", "--cases-repeat", "2"])
        assert trained.exit_code == 0, trained.output

        pair = [str(classifier_model), str(run / "model.onnx")]
        compared = runner.invoke(app, ["models", "compare", *pair, "--manifest", str(built.out)])
        assert compared.exit_code == 0, compared.output
        assert "verdict:" in compared.output

        before = max(e["id"] for e in service.events(limit=1))
        promoted = runner.invoke(app, ["models", "promote", str(run / "model.onnx"), "--config", str(config_path)])
        assert promoted.exit_code == 0, promoted.output
        new = model_version(run / "model.onnx")
        assert wait_for(lambda: service.model_version == new, 5), "the promoted classifier was not swapped in"
        swapped_after = max([before, *(e["id"] for e in service.events(limit=1))])
        later = wait_for(lambda: [e for e in service.events() if e["id"] > swapped_after], 30)
        assert later and {e["model_version"] for e in later} == {new}
