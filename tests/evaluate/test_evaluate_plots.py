"""Figures and the report writer produce real PNG files; undefined metrics become JSON null."""

import csv
import json

import cv2
import numpy as np

from maskwatch.evaluate.crops import score_crop_predictions
from maskwatch.evaluate.metrics import PRCurve
from maskwatch.evaluate.plots import plot_confusion, plot_pr_curves
from maskwatch.evaluate.report import print_result, write_report

PNG = b"\x89PNG\r\n\x1a\n"


def test_confusion_png(tmp_path):
    path = plot_confusion(
        np.array([[5, 1, 0], [2, 7, 1], [0, 0, 0]]), ("mask", "no_mask", "incorrect"), tmp_path / "c.png"
    )
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 5000


def test_pr_png_skips_classes_without_ground_truth(tmp_path):
    curves = [
        PRCurve("mask", 0.8, 3, 3, 2, np.array([1, 1, 2]) / 3, np.array([1, 0.5, 2 / 3]), np.array([0.9, 0.8, 0.7])),
        PRCurve("incorrect", float("nan"), 0, 0, 0, np.zeros(0), np.zeros(0), np.zeros(0)),
    ]
    data = plot_pr_curves(curves, tmp_path / "pr.png").read_bytes()
    assert data[:8] == PNG and len(data) > 5000


def test_crop_report_written_and_printed(tmp_path, capsys):
    labels = ["mask", "mask", "no_mask"]
    probs = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    result = score_crop_predictions(labels, ["a", "b", "b"], probs)
    written = write_report(result, tmp_path / "out")
    assert [p.name for p in written] == ["metrics.json", "confusion.png", "pr_curves.png"]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["ap"]["incorrect"] is None  # no incorrect crops: AP undefined
    print_result(result)
    assert "Accuracy per source" in capsys.readouterr().out


def test_crop_report_lists_and_draws_the_mistakes(tmp_path):
    paths = []
    for k, shade in enumerate((40, 120, 200)):
        paths.append(tmp_path / f"{k}.jpg")
        cv2.imwrite(str(paths[-1]), np.full((112, 112, 3), shade, np.uint8))
    labels = ["mask", "no_mask", "incorrect"]
    probs = np.array([[0.9, 0.1, 0], [0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])  # only the no_mask crop is wrong
    result = score_crop_predictions(labels, ["a", "a", "b"], probs, paths)
    written = write_report(result, tmp_path / "out")
    assert [p.name for p in written][3:] == ["mistakes.csv", "mistakes.jpg"]
    with (tmp_path / "out" / "mistakes.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {
            "row": "0",
            "path": str(paths[1]),
            "source": "a",
            "label": "no_mask",
            "predicted": "mask",
            "probability": "0.7",
        }
    ]
    sheet = cv2.imread(str(tmp_path / "out" / "mistakes.jpg"))
    assert sheet.shape == (160 + 22, 8 * 160, 3)  # one captioned tile, the row padded to 8 columns
    assert abs(int(sheet[100, 80].mean()) - 120) <= 3  # the wrong crop, not another


def test_missing_matplotlib_is_a_user_error(tmp_path, monkeypatch):
    import sys

    import pytest

    from maskwatch.core.errors import UserError

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the plots extra looks like
    with pytest.raises(UserError, match="matplotlib"):
        plot_confusion(np.eye(3, dtype=int), ("mask", "no_mask", "incorrect"), tmp_path / "c.png")
