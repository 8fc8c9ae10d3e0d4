"""`maskwatch evaluate video`: detect --json output scored per analysed frame against a clip's per-frame truth."""

import json
import subprocess
import sys

import pytest

from maskwatch.core.errors import UserError
from maskwatch.evaluate.video import score_video

TRUTH = {
    "clip_f000000": [
        {"box": [10, 10, 50, 50], "label": "mask", "difficult": False},
        {"box": [100, 10, 140, 50], "label": "no_mask", "difficult": False},
        {"box": [200, 10, 240, 50], "label": "incorrect", "difficult": False},
    ],
    "clip_f000001": [{"box": [10, 10, 50, 50], "label": "mask", "difficult": False}],  # not analysed
    "clip_f000003": [{"box": [100, 10, 140, 50], "label": "no_mask", "difficult": False}],
    "clip_f000006": [],
}


def face(box, label, score):
    return {"box": box, "label": label, "score": score}


def test_perfect_predictions_score_one_and_unanalysed_frames_are_skipped():
    preds = {
        "clip_f000000": [
            face([10, 10, 50, 50], "mask", 0.9),
            face([100, 10, 140, 50], "no_mask", 0.8),
            face([200, 10, 240, 50], "incorrect", 0.7),
        ],
        "clip_f000003": [face([101, 11, 139, 50], "no_mask", 0.9)],
        "clip_f000006": [],
    }
    figures = score_video(preds, TRUTH).to_dict()
    assert figures["frames"] == 3
    assert figures["n_faces"] == {"mask": 1, "no_mask": 2, "incorrect": 1}  # frame 1 is not counted
    assert figures["map_mask_no_mask"] == pytest.approx(1.0)
    assert figures["ap"]["incorrect"] == pytest.approx(1.0)
    assert figures["unmasked_found"] == pytest.approx(1.0)
    assert figures["masked_flagged"] == pytest.approx(0.0)


def test_incorrect_faces_are_ignored_in_map_and_count_as_unmasked():
    # the incorrect face called no_mask: no false positive in the no_mask AP, and it is flagged
    preds = {
        "clip_f000000": [
            face([10, 10, 50, 50], "no_mask", 0.9),  # a masked face flagged
            face([100, 10, 140, 50], "no_mask", 0.8),
            face([200, 10, 240, 50], "no_mask", 0.7),
        ],
        "clip_f000003": [],  # an unmasked face missed
    }
    figures = score_video(preds, TRUTH).to_dict()
    assert figures["ap"]["mask"] == pytest.approx(0.0)
    assert figures["ap"]["no_mask"] == pytest.approx(0.5 * 0.5, abs=0.01)  # 1 of 2 found, behind one false alarm
    assert figures["unmasked_found"] == pytest.approx(2 / 3)
    assert figures["masked_flagged"] == pytest.approx(1.0)


def test_low_scores_are_not_flagged():
    preds = {"clip_f000003": [face([100, 10, 140, 50], "no_mask", 0.4)]}
    figures = score_video(preds, TRUTH, threshold=0.5).to_dict()
    assert figures["ap"]["no_mask"] == pytest.approx(1.0)
    assert figures["unmasked_found"] == pytest.approx(0.0)


def test_predicted_frames_without_truth_are_an_error():
    with pytest.raises(UserError, match="have no ground truth"):
        score_video({"other_f000000": []}, TRUTH)
    with pytest.raises(UserError, match="no frame"):
        score_video({}, TRUTH)


def test_the_command_prints_the_figures_and_writes_them(tmp_path):
    preds, truth = tmp_path / "preds.json", tmp_path / "truth.json"
    preds.write_text(json.dumps({"clip_f000003": [face([100, 10, 140, 50], "no_mask", 0.9)]}))
    truth.write_text(json.dumps(TRUTH))
    run = [sys.executable, "-m", "maskwatch", "evaluate", "video"]
    proc = subprocess.run(
        [*run, str(preds), str(truth), "-o", str(tmp_path / "eval")], check=False, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "unmasked found 100.0% of 1" in proc.stdout
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["frames"] == 1
    (tmp_path / "bad.json").write_text("{not json")
    bad = subprocess.run([*run, str(tmp_path / "bad.json"), str(truth)], check=False, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not valid JSON" in bad.stderr, bad.stderr


def test_intervals_resample_whole_clips():
    # two clips of one unmasked face each: clip a finds it on every frame, clip b on none
    truth, preds = {}, {}
    for clip, found in (("a", True), ("b", False)):
        for i in range(10):
            key = f"{clip}_f{i:06d}"
            truth[key] = [{"box": [100, 10, 140, 50], "label": "no_mask", "difficult": False}]
            preds[key] = [face([100, 10, 140, 50], "no_mask", 0.9)] if found else []
    figures = score_video(preds, truth).to_dict()
    assert figures["clips"] == 2 and figures["unmasked_found"] == pytest.approx(0.5)
    # a resample holds a twice, b twice or one of each: 1.0, 0.0 or 0.5, never a mix of frames
    assert figures["intervals"]["unmasked_found"] == [0.0, 1.0]
    one_clip = score_video({k: v for k, v in preds.items() if k.startswith("a")}, truth).to_dict()
    assert one_clip["clips"] == 1 and one_clip["intervals"]["unmasked_found"] == [1.0, 1.0]
