"""`maskwatch cases list | export | purge` on a real store of real face crops (cut from the shared CC0 street
photos as the service cuts them): export writes class folders and the provenance CSV, removes what it exported
unless --keep, and `maskwatch data build` takes the folder as a class-folder source (not_a_face/ left out)."""

from __future__ import annotations

import csv
import time

import cv2
import pytest

from helpers_service.cli import run_cli
from maskwatch.cases import CaseStore, face_crop
from maskwatch.cases.crops import encode_jpeg
from maskwatch.core.labels import normalize_label
from maskwatch.data.voc_xml import parse_voc_xml

LABELS = ["mask", "no_mask", "mask", "no_mask", "incorrect", "not_a_face", None, None]


def real_faces(shared_data, count: int) -> list:
    """(crop, label) of the first `count` faces of at least 56 px in the street photos, cut with the service's
    margin and size."""
    folder, faces = shared_data / "andrewmvd", []
    for xml in sorted((folder / "annotations").glob("*.xml")):
        voc = parse_voc_xml(xml)
        image = None
        for obj in voc.objects:
            x1, y1, x2, y2 = obj.box
            if obj.error or min(x2 - x1, y2 - y1) < 56 or normalize_label(obj.name) is None:
                continue
            image = cv2.imread(str(folder / "images" / voc.filename)) if image is None else image
            faces.append((face_crop(image, obj.box, 0.15, 128), normalize_label(obj.name)))
            if len(faces) == count:
                return faces
    pytest.skip("not enough large faces in the street photos")


@pytest.fixture
def store_folder(shared_data, tmp_path):
    store = CaseStore(tmp_path / "cases")
    now = time.time()
    for i, ((crop, _), label) in enumerate(zip(real_faces(shared_data, len(LABELS)), LABELS, strict=True)):
        case = store.add(
            encode_jpeg(crop, 90),
            "door",
            "entrance" if i % 2 else None,
            now - 100 + i,
            "unsure" if i % 3 else "reviewed_confirmed",
            "mask_classifier-abcd",
            [0.5, 0.3, 0.2],
        )
        if label:
            store.set_label(case, label)
    store.close()
    return tmp_path / "cases"


def test_list_shows_counts_and_the_newest_cases(store_folder):
    done = run_cli("cases", "list", "--folder", str(store_folder), "--unlabelled")
    assert done.returncode == 0, done.stderr
    assert "8 cases, 6 labelled" in done.stdout and "not_a_face 1" in done.stdout and "unlabelled 2" in done.stdout
    assert done.stdout.count("label -") == 2  # the two unlabelled ones


def test_export_writes_class_folders_and_provenance_and_empties_the_store(store_folder, tmp_path):
    out = tmp_path / "export"
    done = run_cli("cases", "export", str(out), "--folder", str(store_folder))
    assert done.returncode == 0, done.stderr
    assert "exported 6 labelled crops" in done.stdout and "6 removed from the store" in done.stdout
    counts = {d.name: len(list(d.glob("*.jpg"))) for d in out.iterdir() if d.is_dir()}
    assert counts == {"mask": 2, "no_mask": 2, "incorrect": 1, "not_a_face": 1}
    rows = list(csv.DictReader((out / "cases.csv").open()))
    assert len(rows) == 6 and {r["label"] for r in rows} == {"mask", "no_mask", "incorrect", "not_a_face"}
    row = rows[0]
    assert (out / row["file"]).is_file() and row["camera"] == "door" and row["model_version"] == "mask_classifier-abcd"
    assert row["p_mask"] == "0.5" and row["guess"] == "mask" and row["time"].endswith("Z") and row["reason"]
    store = CaseStore(store_folder)
    assert store.counts()["total"] == 2 and store.counts()["labelled"] == 0  # the unlabelled stay
    assert [e.action for e in store.audit.entries()][:1] == ["export"]
    image = cv2.imread(str(out / row["file"]))
    assert image is not None and max(image.shape[:2]) <= 128


def test_export_keep_leaves_the_store_and_adds_each_crop_once(store_folder, tmp_path):
    out = tmp_path / "export"
    assert run_cli("cases", "export", str(out), "--folder", str(store_folder), "--keep").returncode == 0
    again = run_cli("cases", "export", str(out), "--folder", str(store_folder), "--keep")
    assert again.returncode == 0 and "exported 0 labelled crops" in again.stdout
    assert len(list(csv.DictReader((out / "cases.csv").open()))) == 6
    assert CaseStore(store_folder).counts()["total"] == 8


def test_data_build_imports_the_export_as_a_class_folder_source(store_folder, tmp_path, shared_data):
    from maskwatch.data.build import build_dataset
    from maskwatch.data.importers import find_sources, read_source

    out = tmp_path / "site-cases"
    assert run_cli("cases", "export", str(out), "--folder", str(store_folder)).returncode == 0
    names = [name for name, _ in find_sources(shared_data)] + [name for name, _ in find_sources(out)]
    assert "site-cases" in names and "andrewmvd" in names  # beside ../shared/data's sources, as one more
    scan = read_source(out)
    assert scan.layout == "folders" and len(scan.items) == 5  # not_a_face/ is no class:
    assert scan.unknown_names == {"not_a_face": 1} and scan.dropped["unknown_label"] == 1
    summary = build_dataset([out], tmp_path / "ds", val_fraction=0.3, workers=1, progress=False)
    rows = list(csv.DictReader((tmp_path / "ds" / "manifest.csv").open()))
    assert summary.crops == len(rows) >= 4  # the detector finds the faces in the crops again
    assert {r["label"] for r in rows} <= {"mask", "no_mask", "incorrect"} and {r["source"] for r in rows} == {
        "site-cases"
    }


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["cases", "list"], "give --config FILE"),
        (["cases", "list", "--folder", "/nonexistent/cases"], "no cases kept there"),
        (["cases", "list", "--folder", "{store}", "--reason", "bored"], "--reason must be reviewed or one of"),
        (["cases", "export", "{file}", "--folder", "{store}"], "not a folder"),
        (["cases", "export", "{busy}", "--folder", "{store}"], "not empty and no earlier export"),
        (["cases", "purge", "--config", "/nonexistent.yaml"], "nonexistent.yaml"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(store_folder, tmp_path, args, fragment):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "photo.jpg").write_text("x")
    paths = {"store": str(store_folder), "file": str(tmp_path / "a-file"), "busy": str(tmp_path / "busy")}
    done = run_cli(*(a.format(**paths) for a in args))
    assert done.returncode != 0 and fragment in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_purge_applies_retention_or_removes_everything(store_folder, tmp_path):
    config = tmp_path / "maskwatch.yaml"
    config.write_text(f"cameras: [{{name: door, source: 0}}]\ncollect: {{folder: {store_folder}, retention_days: 1}}\n")
    kept = run_cli("cases", "purge", "--config", str(config))
    assert kept.returncode == 0 and "removed 0 cases; 8 left" in kept.stdout  # all from the last minutes
    gone = run_cli("cases", "purge", "--config", str(config), "--all")
    assert gone.returncode == 0 and "removed 8 cases; 0 left" in gone.stdout
    assert [e.action for e in CaseStore(store_folder).audit.entries()] == ["purge", "purge"]
