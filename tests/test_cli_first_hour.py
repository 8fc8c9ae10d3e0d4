"""The CLI's first hour (issue 20): outputs checked against inputs, progress and short tables instead of dicts,
`-o -`, no empty JSON on total failure, plain words for empty and wrong inputs, one --min-score, --help by use."""

import json
import re
import shutil

import cv2
import pytest

from helpers_service.cli import one_line_error, run_cli

PHOTO = "maksssksksss114.jpg"  # a street photo: several faces, masked and not


def table(stderr: str) -> dict[str, int]:
    """The per-label table the commands print: {label: count}."""
    rows = re.findall(r"^\s*(Mask|No mask|Mask worn incorrectly)\s+(\d+)\s*$", stderr, re.MULTILINE)
    return {label: int(n) for label, n in rows}


@pytest.fixture
def photo(shared_data, tmp_path):
    return shutil.copy(shared_data / "andrewmvd" / "images" / PHOTO, tmp_path / PHOTO)


@pytest.fixture
def video(photo, tmp_path):
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (320, 240))
    frame = cv2.resize(cv2.imread(str(photo)), (320, 240))
    for _ in range(4):
        writer.write(frame)
    writer.release()
    return path


def test_detect_checks_the_output_against_the_input(photo, video, tmp_path):
    one_line_error(run_cli("detect", photo, "--out", tmp_path / "d4.txt"), "an image in, so an image out", ".txt")
    one_line_error(run_cli("detect", video, "--out", tmp_path / "x.jpg"), "a video in, so a video out", ".jpg")
    one_line_error(run_cli("detect", tmp_path, "--out", tmp_path / "x.jpg"), "detect takes one image or one video")
    (tmp_path / "notes.txt").write_text("x")
    one_line_error(run_cli("detect", tmp_path / "notes.txt", "--out", tmp_path / "x.jpg"), "not an image or video")
    assert not (tmp_path / "d4.txt").exists() and not (tmp_path / "x.jpg").exists()


def test_detect_a_video_shows_progress_and_a_table_of_faces_per_label(video, classifier_model, tmp_path):
    proc = run_cli("detect", video, "--out", tmp_path / "out.mp4", "--input-size", "320")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"detect clip\.mp4 .*4/4", proc.stderr), proc.stderr  # the progress bar, finished
    assert "wrote" in proc.stderr and "{" not in proc.stderr + proc.stdout  # a table, not a Python dict
    assert set(table(proc.stderr)) == {"Mask", "No mask", "Mask worn incorrectly"}
    assert int(cv2.VideoCapture(str(tmp_path / "out.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 4


def test_predict_and_classify_write_to_stdout_with_a_summary(photo, classifier_model, tmp_path):
    proc = run_cli("predict", photo, "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    faces = json.loads(proc.stdout)[PHOTO]
    assert not (tmp_path / "-").exists()
    assert "faces of score >= 0.5, by label" in proc.stderr
    names = {"mask": "Mask", "no_mask": "No mask", "incorrect": "Mask worn incorrectly"}
    expected = {name: sum(f["label"] == label and f["score"] >= 0.5 for f in faces) for label, name in names.items()}
    assert table(proc.stderr) == expected and sum(expected.values()) >= 2
    crops = run_cli("classify", photo, "-o", "-", cwd=tmp_path)
    assert crops.returncode == 0, crops.stderr
    (entry,) = json.loads(crops.stdout).values()
    assert table(crops.stderr)[names[entry["label"]]] == 1 and "crops by label" in crops.stderr


def test_no_json_is_left_when_nothing_could_be_processed(tmp_path, classifier_model):
    (tmp_path / "a.jpg").write_bytes(b"garbage")
    proc = run_cli("predict", tmp_path / "a.jpg", "-o", tmp_path / "p.json")
    assert proc.returncode == 2 and "nothing could be processed: " in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "p.json").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in ("predict", "classify"):
        proc = run_cli(command, empty, "-o", tmp_path / "p.json")
        assert proc.returncode == 2 and f"error: nothing could be processed: no images in {empty}" in proc.stderr
    assert not (tmp_path / "p.json").exists()


def test_detect_draws_what_predict_scores_at_its_min_score(photo, classifier_model, tmp_path):
    """A face whose score (as predict writes it) is under --min-score is not drawn: the table of what was drawn is
    predict's faces at that score."""
    preds = json.loads(run_cli("predict", photo, "-o", "-").stdout)[PHOTO]
    names = {"mask": "Mask", "no_mask": "No mask", "incorrect": "Mask worn incorrectly"}
    for bar in (0.5, 0.9):
        proc = run_cli("detect", photo, "--out", tmp_path / "d.jpg", "--min-score", bar)
        assert proc.returncode == 0, proc.stderr
        expected = {
            name: sum(f["label"] == label and f["score"] >= bar for f in preds) for label, name in names.items()
        }
        assert table(proc.stderr) == expected, (bar, proc.stderr)


def test_help_lists_commands_by_use():
    proc = run_cli("--help", env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **_python_path()})
    commands = re.findall(r"^│ ([a-z][a-z-]+)\s", proc.stdout, re.MULTILINE)
    assert commands[:4] == ["serve", "predict", "detect", "probe"], commands
    assert commands.index("train") > commands.index("evaluate") > commands.index("health")


def _python_path() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "MASKWATCH_DATA")}
