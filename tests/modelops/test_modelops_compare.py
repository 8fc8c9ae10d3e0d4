"""`models compare` with real classifiers on real face crops: the shipped model against a copy (same weights) and
against a copy biased toward `mask` (it misses unmasked faces)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from biased_model import biased_copy
from labelled_crops import write_cases, write_dataset
from maskwatch.cli import app
from maskwatch.core.errors import UserError
from maskwatch.modelops.compare import compare, split_notes

WANTED = {"mask": 60, "no_mask": 50, "incorrect": 12}


@pytest.fixture(scope="module")
def sets(shared_data, classifier_model, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    same = shutil.copy(classifier_model, tmp / "same_weights.onnx")
    return {
        "crops": write_dataset(shared_data, tmp / "ds", WANTED),
        "cases": write_cases(shared_data, tmp / "cases", {"mask": 20, "no_mask": 20, "incorrect": 5}),
        "a": classifier_model,
        "same": same,
        "worse": biased_copy(classifier_model, tmp / "toward_mask.onnx", -5.0),
        "tmp": tmp,
    }


def test_same_weights_make_no_detectable_difference(sets):
    result = compare(sets["a"], sets["same"], sets["crops"], sets["cases"])
    assert result["a"]["version"] != result["b"]["version"]  # other file names, so other versions
    assert result["verdict"] == "no detectable difference"
    # the shipped model and its copy record the full build they were trained on, not this small one: it says so
    assert [n[:34] for n in result["notes"]] == [
        "A was trained on another manifest ",
        "B was trained on another manifest ",
    ]
    crops, cases = result["sets"]
    assert crops["set"] == "crops" and crops["a"]["n"] == sum(WANTED.values())
    assert cases["set"] == "cases" and cases["a"]["n"] == 45  # not_a_face/ left out
    for found in (crops, cases):
        assert found["a"] == found["b"] and found["verdict"] == "no detectable difference"
        assert found["paired"]["only_a_right"] == found["paired"]["only_b_right"] == 0
        assert found["paired"]["mcnemar_p"] == 1.0 and found["paired"]["accuracy"]["ci95"] == [0.0, 0.0]
    assert crops["a"]["accuracy"] > 0.8  # the shipped model on clear faces
    # the subgroups evaluate crops reports (face size, brightness, pose, mask colour), per model, differences 0
    assert {"face_size", "brightness", "pose"} <= set(crops["metrics"]["a"]["subgroups"])
    assert crops["subgroups"] and all(d["delta"] == 0 for d in crops["subgroups"]) and not crops["subgroup_warnings"]
    assert {d["subgroup"] for d in cases["subgroups"]} >= {"brightness", "pose"}  # cases: no size in their photo


def test_a_model_that_does_not_record_its_manifest_is_named(sets):
    import onnx

    graph = onnx.load(str(sets["a"]))
    kept = [p for p in graph.metadata_props if p.key != "train_manifest_sha256"]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    silent = sets["tmp"] / "silent.onnx"
    onnx.save(graph, str(silent))
    notes = split_notes({"a": silent, "b": sets["a"]}, sets["crops"])
    assert [n[:34] for n in notes] == ["A does not say which manifest it w", "B was trained on another manifest "]


def test_a_model_that_misses_unmasked_faces_is_worse(sets):
    result = compare(sets["a"], sets["worse"], sets["crops"])
    (crops,) = result["sets"]
    assert result["verdict"] == crops["verdict"] == "worse"
    assert crops["b"]["unmasked_recall"] < crops["a"]["unmasked_recall"] - 0.1
    assert crops["paired"]["unmasked_recall"]["ci95"][1] < 0
    assert crops["paired"]["only_a_right"] > crops["paired"]["only_b_right"]
    assert any("unmasked_recall" in w for w in crops["subgroup_warnings"])  # it shows in the subgroups too
    # swapped, the same numbers say B is the better one
    back = compare(sets["worse"], sets["a"], sets["crops"])
    assert back["verdict"] == "better" and back["sets"][0]["paired"]["mcnemar_p"] < 0.05


def test_cli_prints_the_table_and_writes_json(sets):
    out = sets["tmp"] / "cmp.json"
    spread = sets["tmp"] / "spread.json"
    spread.write_text(json.dumps({"accuracy": {"min": 0.5, "max": 0.99}, "unmasked_recall": {"min": 0.5, "max": 0.9}}))
    args = ["models", "compare", str(sets["worse"]), str(sets["a"]), "--manifest", str(sets["crops"])]
    result = CliRunner().invoke(app, [*args, "--spread", str(spread), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "unmasked recall" in result.output and "McNemar" in result.output and "rule:" in result.output
    written = json.loads(out.read_text())
    # significant, but within what retraining alone moves the accuracy (0.49 over seeds): no detectable difference
    assert written["verdict"] == "no detectable difference" and "retraining noise" in written["sets"][0]["reasons"][-1]
    assert written["spread"]["accuracy"]["max"] == 0.99


def test_cli_bad_input_is_one_line(sets, tmp_path):
    import subprocess
    import sys

    from maskwatch.core.paths import MODELS_DIR

    def refused(*args: str) -> str:
        result = CliRunner().invoke(app, ["models", "compare", *args])
        assert isinstance(result.exception, UserError), result.output
        return str(result.exception)

    assert "no such model file" in refused(str(sets["a"]), str(tmp_path / "nope.onnx"), "--manifest", "x")
    assert "nothing to compare on" in refused(str(sets["a"]), str(sets["same"]))
    (tmp_path / "bad.json").write_text("{}")
    spread = ["--spread", str(tmp_path / "bad.json")]
    assert "not a seed-spread file" in refused(
        str(sets["a"]), str(sets["same"]), "--cases", str(sets["cases"]), *spread
    )
    detector = shutil.copy(MODELS_DIR / "retinaface_mnet025.onnx", tmp_path / "detector_not_classifier.onnx")
    assert "not a mask classifier" in refused(str(sets["a"]), str(detector), "--cases", str(sets["cases"]))
    run = subprocess.run(
        [sys.executable, "-m", "maskwatch", "models", "compare", str(sets["a"]), str(detector), "--cases", "x"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0 and len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
