"""End-to-end VOC scoring from a predictions JSON on a tiny VOC folder, through the library and the CLI."""

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from maskwatch.core.errors import UserError
from maskwatch.evaluate.cli import app
from maskwatch.evaluate.voc import (
    evaluate_voc,
    labels_as_annotated_figures,
    read_voc_folder,
    read_voc_xml,
    score_predictions,
    with_annotated_labels,
)


def _xml(filename, objects, width=400, height=300):
    objs = "".join(
        f"<object><name>{name}</name><difficult>{int(hard)}</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for name, b, hard in objects
    )
    size = f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"
    return f"<annotation><filename>{filename}</filename>{size}{objs}</annotation>"


@pytest.fixture
def voc_folder(tmp_path):
    root = tmp_path / "tiny"
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    scenes = {
        "one.jpg": [
            ("with_mask", (10, 10, 60, 60), False),
            ("without_mask", (100, 10, 150, 60), False),
            ("mask_weared_incorrect", (200, 10, 250, 60), False),
            ("with_mask", (300, 10, 306, 16), False),  # 6 px: too small to judge -> difficult
            ("helmet", (10, 100, 60, 150), False),
        ],  # not a mask label -> skipped
        "two.jpg": [
            ("without_mask", (350, 200, 450, 300), False),  # leaves the image: clipped to 350..400
            ("with_mask", (10, 10, 60, 60), True),
        ],  # marked difficult
        "three.jpg": [("with_mask", (10, 10, 60, 60), False)],
    }
    for name, objects in scenes.items():
        cv2.imwrite(str(root / "images" / name), np.full((300, 400, 3), 128, np.uint8))
        (root / "annotations" / name.replace(".jpg", ".xml")).write_text(_xml(name, objects))
    return root


PREDS = {
    "one.jpg": [
        {"box": [11, 11, 60, 61], "label": "mask", "score": 0.95},
        {"box": [100, 10, 150, 60], "label": "no_mask", "score": 0.9},
        {"box": [200, 10, 250, 60], "label": "no_mask", "score": 0.6},  # incorrect face called no_mask
        {"box": [300, 10, 306, 16], "label": "mask", "score": 0.99},  # on the difficult tiny face: ignored
    ],
    "two.jpg": [
        {"box": [350, 200, 400, 300], "label": "without_mask", "score": 0.8},
        {"box": [10, 200, 60, 250], "label": "mask", "score": 0.7},  # nothing there
    ],
    # three.jpg absent: its mask face is missed
    "elsewhere.jpg": [{"box": [0, 0, 10, 10], "label": "mask", "score": 0.9}],  # not annotated: ignored
}


def test_reader_clips_skips_and_marks_difficult(voc_folder):
    anns = {a.name: a for a in read_voc_folder(voc_folder)}
    assert sorted(anns) == ["one.jpg", "three.jpg", "two.jpg"]
    one, two = anns["one.jpg"], anns["two.jpg"]
    assert one.labels == ["mask", "no_mask", "incorrect", "mask"]
    assert one.difficult.tolist() == [False, False, False, True]
    np.testing.assert_array_equal(two.boxes[0], [350, 200, 400, 300])
    assert two.difficult.tolist() == [False, True]


def test_reader_skips_boxes_outside_and_keeps_unclipped_without_a_size(tmp_path):
    folder = tmp_path / "edges"
    (folder / "annotations").mkdir(parents=True)
    (folder / "annotations" / "e.xml").write_text(
        _xml(
            "e.jpg",
            [
                ("with_mask", (10, 10, 60, 60), False),
                ("without_mask", (500, 10, 600, 60), False),  # wholly outside the 400x300 image: skipped
                ("helmet", (1, 2, "x", 4), False),  # unknown label: skipped before its box is checked
            ],
        )
    )
    (folder / "annotations" / "nosize.xml").write_text(
        _xml("nosize.jpg", [("without_mask", (350, 200, 450, 320), False)], 0, 0)
    )
    (folder / "annotations" / "lost.xml").write_text(_xml("lost.jpg", [("with_mask", (10, 10, 60, 60), False)]))
    (folder / "annotations" / "broken.xml").write_text("<annotation><filename>e.jpg")
    for name in ("e.jpg", "nosize.jpg", "broken.jpg"):
        cv2.imwrite(str(folder / name), np.full((300, 400, 3), 128, np.uint8))
    anns = {a.name: a for a in read_voc_folder(folder)}
    assert sorted(anns) == ["e.jpg", "nosize.jpg"]  # lost.xml has no image, broken.xml is unreadable
    assert anns["e.jpg"].labels == ["mask"] and anns["e.jpg"].path == str((folder / "e.jpg").absolute())
    np.testing.assert_array_equal(anns["nosize.jpg"].boxes, [[350, 200, 450, 320]])  # no size: not clipped
    assert anns["nosize.jpg"].difficult.tolist() == [False]


@pytest.mark.parametrize(
    ("box", "message"),
    [((1, 2, "x", 40), "a box coordinate is not a number"), ((1, 2, "", 40), "a box lacks a coordinate")],
)
def test_reader_bad_coordinates_are_user_errors(tmp_path, box, message):
    xml = tmp_path / "bad.xml"
    xml.write_text(_xml("bad.jpg", [("with_mask", (10, 10, 60, 60), False), ("with_mask", box, False)]))
    cv2.imwrite(str(tmp_path / "bad.jpg"), np.full((300, 400, 3), 128, np.uint8))
    for read in (lambda: read_voc_xml(xml), lambda: read_voc_folder(tmp_path)):
        with pytest.raises(UserError) as err:
            read()
        assert str(err.value) == f"{xml}: {message}"


def test_reader_unreadable_file_is_a_user_error(tmp_path):
    xml = tmp_path / "broken.xml"
    xml.write_text("<annotation><filename>broken.jpg")
    with pytest.raises(UserError, match=r"broken\.xml: not a readable VOC annotation"):
        read_voc_xml(xml)
    with pytest.raises(UserError, match=r"missing\.xml: not a readable VOC annotation"):
        read_voc_xml(tmp_path / "missing.xml")


def test_score_predictions_by_hand(voc_folder):
    result = score_predictions(PREDS, read_voc_folder(voc_folder))
    assert result.n_faces == {"mask": 2, "no_mask": 2, "incorrect": 1}
    assert result.n_difficult == 2
    # mask: 0.95 TP (one.jpg), 0.7 FP (two.jpg), three.jpg missed -> precision 1 at recall 1/2 -> AP 0.5
    assert result.curves["mask"].ap == pytest.approx(0.5)
    # no_mask: 0.9 TP, 0.8 TP, 0.6 FP (the incorrect face) -> AP 1.0
    assert result.curves["no_mask"].ap == pytest.approx(1.0)
    assert result.curves["incorrect"].ap == 0.0
    assert result.map_primary == pytest.approx(0.75)
    assert result.map_all == pytest.approx(0.5)
    # faces: 0.95 TP, 0.9 TP, 0.8 TP, 0.7 FP, 0.6 TP over 5 -> recall .2 .4 .6 .6 .8, envelope 1 to .6, 4/5 to .8
    assert result.face_ap == pytest.approx(0.6 * 1 + 0.2 * 0.8)
    c = result.compliance
    assert (c.n_unmasked, c.n_unmasked_caught, c.unmasked_recall) == (3, 3, 1.0)
    assert (c.n_masked_detected, c.n_masked_false_alarm) == (1, 0)
    assert c.n_false_detections == 1
    assert result.n_images_without_predictions == 1
    # with only mask and no_mask scored, classes=("mask",) is just mask AP
    assert score_predictions(PREDS, read_voc_folder(voc_folder), classes=("mask",)).map_primary == pytest.approx(0.5)


def test_labels_as_annotated_show_what_the_labels_cost(voc_folder):
    annotations = read_voc_folder(voc_folder)
    relabelled = with_annotated_labels(PREDS, annotations)
    assert [e["label"] for e in relabelled["one.jpg"]] == ["mask", "no_mask", "incorrect", "mask"]
    assert [e["label"] for e in relabelled["two.jpg"]] == ["no_mask", "mask"]  # the second lies on no face
    assert relabelled["three.jpg"] == [] and "elsewhere.jpg" not in relabelled
    assert [e["score"] for e in relabelled["one.jpg"]] == [0.95, 0.9, 0.6, 0.99]
    figures = labels_as_annotated_figures(PREDS, annotations)
    assert figures["ap"]["incorrect"] == pytest.approx(1.0)  # 0.0 with the predicted labels
    # the missed mask face and the box on no face are the detector's: mask AP stays 0.5, mAP 0.75
    assert figures["ap"]["mask"] == pytest.approx(0.5)
    assert figures["map_mask_no_mask"] == pytest.approx(0.75)
    assert figures["unmasked_recall"] == 1.0


def test_manifest_restricts_to_val_images(voc_folder, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "path,label,source,split,group,image,box,face_px,brightness\n"
        f"crops/mask/1.jpg,mask,tiny,val,g1,{voc_folder / 'images' / 'one.jpg'},10 10 60 60,50,128\n"
        "crops/mask/2.jpg,mask,tiny,train,g2,tiny/images/three.jpg,10 10 60 60,50,128\n"
    )
    result, _ = evaluate_voc([voc_folder], manifest=manifest, preds=PREDS)
    assert result.n_images == 1
    assert result.n_faces == {"mask": 1, "no_mask": 1, "incorrect": 1}
    assert result.curves["mask"].ap == 1.0


def test_cli_voc_with_predictions_writes_report(voc_folder, tmp_path):
    preds_path = tmp_path / "preds.json"
    preds_path.write_text(json.dumps(PREDS))
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["voc", str(voc_folder), "--preds", str(preds_path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["map_mask_no_mask"] == pytest.approx(0.75)
    assert metrics["compliance"]["unmasked_recall"] == 1.0
    low, high = metrics["intervals"]["map_mask_no_mask"]
    assert low <= 0.75 <= high
    assert "95 % interval" in res.output
    assert metrics["labels_as_annotated"]["ap"]["incorrect"] == pytest.approx(1.0)
    assert "labels as annotated" in res.output
    for png in ("confusion.png", "pr_curves.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d, t: ["voc", str(t / "missing")], "no such folder"),
        (lambda d, t: ["voc", str(d), "--preds", str(t / "nope.json")], "not found"),
        (lambda d, t: ["voc", str(d), "--preds", str(d / "annotations" / "one.xml")], "not valid JSON"),
        (lambda d, t: ["voc", str(d), "--preds", str(d / "annotations" / "one.xml"), "--threshold", "2"], "threshold"),
    ],
)
def test_cli_bad_input_is_a_user_error(voc_folder, tmp_path, make_args, message):
    res = CliRunner().invoke(app, make_args(voc_folder, tmp_path))
    assert isinstance(res.exception, UserError)
    assert message in str(res.exception)


def test_bad_prediction_entries_are_user_errors(voc_folder):
    anns = read_voc_folder(voc_folder)
    with pytest.raises(UserError, match="box"):
        score_predictions({"one.jpg": [{"box": [1, 2, 3], "label": "mask", "score": 0.5}]}, anns)
    with pytest.raises(UserError, match="label"):
        score_predictions({"one.jpg": [{"box": [1, 2, 3, 4], "label": "hat", "score": 0.5}]}, anns)
    with pytest.raises(UserError):
        score_predictions([], anns)


def test_cli_voc_runs_the_pipeline_and_its_predictions_rescore_the_same(tmp_path, shared_data, classifier_model):
    """Without --preds the real pipeline runs; the predictions it saves give the same numbers when scored again."""
    folder = tmp_path / "three"
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    for xml in sorted((shared_data / "andrewmvd" / "annotations").glob("*.xml"))[:3]:
        (folder / "annotations" / xml.name).symlink_to(xml)
        image = shared_data / "andrewmvd" / "images" / (xml.stem + ".jpg")
        (folder / "images" / image.name).symlink_to(image)
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["voc", str(folder), "--model", str(classifier_model), "--out", str(out)])
    assert res.exit_code == 0, res.output
    saved = json.loads((out / "predictions.json").read_text())
    assert sorted(saved) == sorted(p.name for p in (folder / "images").iterdir())
    assert sum(len(v) for v in saved.values()) > 0
    metrics = json.loads((out / "metrics.json").read_text())
    again = score_predictions(saved, read_voc_folder(folder))
    assert metrics["face_ap"] == pytest.approx(again.face_ap)
    assert metrics["compliance"]["n_unmasked_caught"] == again.compliance.n_unmasked_caught


def test_incorrect_folded_or_ignored_for_two_class_models(voc_folder):
    anns = read_voc_folder(voc_folder)
    folded = score_predictions(PREDS, anns, incorrect="no_mask")
    # the incorrect face is now no_mask: 0.9, 0.8, 0.6 are all no_mask TPs over 3 faces
    assert folded.n_faces == {"mask": 2, "no_mask": 3, "incorrect": 0}
    assert (folded.curves["no_mask"].ap, folded.curves["no_mask"].n_tp) == (1.0, 3)
    assert folded.map_primary == pytest.approx(0.75)
    assert folded.map_all != folded.map_all  # NaN: no incorrect faces left
    ignored = score_predictions(PREDS, anns, incorrect="ignore")
    # the 0.6 detection on the now-difficult face drops out of the ranking
    assert (ignored.curves["no_mask"].n_gt, ignored.curves["no_mask"].n_pred) == (2, 2)
    assert ignored.n_difficult == 3 and ignored.compliance.n_unmasked == 2
    with pytest.raises(UserError, match="incorrect"):
        score_predictions(PREDS, anns, incorrect="merge")


def test_manifest_matches_images_reached_through_links(voc_folder, tmp_path):
    linked = tmp_path / "linked"
    for sub in ("images", "annotations"):
        (linked / sub).mkdir(parents=True)
        for f in (voc_folder / sub).iterdir():
            (linked / sub / f.name).symlink_to(f)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        f"path,label,source,split,image\ncrops/a.jpg,mask,tiny,val,{voc_folder / 'images' / 'two.jpg'}\n"
    )
    result, _ = evaluate_voc([linked], manifest=manifest, preds=PREDS)
    assert result.n_images == 1 and result.n_faces["no_mask"] == 1


def test_folder_skips_xml_that_is_not_a_voc_annotation(voc_folder, caplog):
    (voc_folder / "annotations" / "settings.xml").write_text(
        "<config><filename>three.jpg</filename><object><name>with_mask</name>"
        "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>90</xmax><ymax>90</ymax></bndbox></object></config>"
    )
    (voc_folder / "annotations" / "torn.xml").write_text("<annotation><filename>one.jpg")
    anns = read_voc_folder(voc_folder)
    assert sorted(a.name for a in anns) == ["one.jpg", "three.jpg", "two.jpg"]
    assert len(next(a for a in anns if a.name == "three.jpg").labels) == 1  # settings.xml added no face
    assert "settings.xml: root element <config>, not <annotation>, skipped" in caplog.text
    assert "torn.xml: not a readable VOC annotation" in caplog.text
