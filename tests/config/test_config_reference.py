"""docs/configuration.md is generated from the config models: it must match them, and every key must say what it
does."""

from __future__ import annotations

import subprocess
import sys

from maskwatch.config import AppConfig
from maskwatch.config.reference import REFERENCE_PATH, _sections, reference, undescribed_fields

REGENERATE = "maskwatch config reference --out docs/configuration.md"


def test_the_reference_in_docs_is_up_to_date_with_the_models():
    assert REFERENCE_PATH.is_file(), f"{REFERENCE_PATH} is missing: run `{REGENERATE}`"
    assert REFERENCE_PATH.read_text(encoding="utf-8") == reference(), (
        f"docs/configuration.md is out of date with the config models: run `{REGENERATE}` and commit it"
    )


def test_every_key_has_a_description():
    assert undescribed_fields() == [], "give these keys a Field(description=...)"


def test_every_section_and_key_is_in_the_reference():
    text = reference()
    sections = list(_sections(AppConfig, ""))
    assert {"cameras[]", "cameras[].zones[]", "sinks.mqtt", "sinks.webhooks[]", "sinks.email[]", "scale.ray"} <= {
        path for path, _ in sections
    }
    for path, model in sections:
        if path:
            assert f"# {path}\n" in text, path
        for name in model.model_fields:
            assert f"- **`{name}`** (" in text, f"{path}.{name}"
    # types, defaults and limits as the models have them
    assert "- **`fps`** (number; default `5.0`; > 0, ≤ 60): " in text
    assert "- **`polygon`** (list of [number, number]; required; at least 3 items, at most 64 items): " in text
    assert "- **`zones`** (list of mapping; default `[]`; at most 50 items): " in text
    assert "- **`providers`** (one of `cpu`, `cuda`, `openvino`; default `cpu`): " in text
    assert "- **`token`** (string; default: unset; at least 12 characters): " in text
    assert "See [cameras[].zones[]](#cameraszones)." in text


def test_the_cli_prints_and_writes_the_same_reference(tmp_path):
    out = tmp_path / "configuration.md"
    command = [sys.executable, "-m", "maskwatch", "config", "reference"]
    printed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=60, check=True)
    assert printed == out.read_text(encoding="utf-8") == reference()
