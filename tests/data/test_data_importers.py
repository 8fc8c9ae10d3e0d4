"""Importers and layout detection on small VOC / YOLO / class-folder sources written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maskwatch.core.errors import UserError
from maskwatch.data import detect_layout, find_sources, read_source, read_sources
from maskwatch.data.faces import process_image
from maskwatch.data.records import AnnotatedImage, LabeledImage
from synthetic_images import scene, voc_xml, write_jpeg


def make_voc(root: Path) -> Path:
    src = root / "vocset"
    write_jpeg(src / "images" / "a.jpg", scene(200, 150, 1))
    (src / "annotations").mkdir(parents=True)
    (src / "annotations" / "a.xml").write_text(
        voc_xml(
            "a.jpg",
            200,
            150,
            [
                ("with_mask", (10, 10, 60, 70)),
                ("without_mask", (150, 100, 260, 190)),  # leaves the image: clipped to 200x150
                ("mask_weared_incorrect", (80, 80, 86, 120)),  # 6 px wide: dropped as tiny
                ("helmet", (90, 20, 140, 70)),  # unknown label
            ],
        )
    )
    # Image stored elsewhere than images/, found by its name.
    write_jpeg(src / "elsewhere" / "b.jpg", scene(120, 120, 2))
    (src / "annotations" / "b.xml").write_text(voc_xml("b.jpg", 120, 120, [("good", (20, 20, 80, 90))]))
    # Corrupt image bytes and a tiny image: importers list them, processing drops them.
    (src / "images" / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (src / "annotations" / "c.xml").write_text(voc_xml("c.jpg", 100, 100, [("with_mask", (10, 10, 50, 50))]))
    write_jpeg(src / "images" / "d.jpg", scene(24, 20, 3))
    (src / "annotations" / "d.xml").write_text(voc_xml("d.jpg", 24, 20, [("with_mask", (0, 0, 20, 20))]))
    return src


def make_yolo(root: Path, names_file: str = "data.yaml") -> Path:
    src = root / "yoloset"
    write_jpeg(src / "images" / "x.jpg", scene(400, 200, 4))
    (src / "labels").mkdir(parents=True)
    (src / "labels" / "x.txt").write_text(
        "0 0.25 0.5 0.2 0.4\n1 0.75 0.5 0.1 0.2\n2 0.5 0.5 0.01 0.01\n3 0.1 0.1 0.1 0.1\n"
    )
    names = ["with_mask", "without_mask", "mask_weared_incorrect", "person"]
    if names_file == "data.yaml":
        (src / "data.yaml").write_text("names:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(names)))
    else:
        (src / names_file).write_text("\n".join(names) + "\n")
    return src


def make_folders(root: Path) -> Path:
    src = root / "folderset"
    write_jpeg(src / "with_mask" / "1.jpg", scene(64, 64, 5))
    write_jpeg(src / "with_mask" / "2.jpg", scene(64, 64, 6))
    write_jpeg(src / "without_mask" / "3.jpg", scene(64, 64, 7))
    write_jpeg(src / "cat" / "4.jpg", scene(64, 64, 8))
    return src


def test_voc_clips_drops_and_counts(tmp_path):
    scan = read_source(make_voc(tmp_path))
    assert scan.layout == "voc" and scan.name == "vocset"
    by_name = {item.path.name: item for item in scan.items}
    assert set(by_name) == {"a.jpg", "b.jpg", "c.jpg", "d.jpg"}
    a = by_name["a.jpg"]
    assert isinstance(a, AnnotatedImage) and (a.width, a.height) == (200, 150)
    assert a.labels == ["mask", "no_mask"]
    np.testing.assert_allclose(a.boxes, [[10, 10, 60, 70], [150, 100, 200, 150]])
    assert by_name["b.jpg"].path.parent.name == "elsewhere" and by_name["b.jpg"].labels == ["mask"]
    assert scan.dropped["tiny_box"] == 1 and scan.dropped["unknown_label"] == 1
    assert scan.unknown_names == {"helmet": 1}


def test_processing_drops_corrupt_and_tiny_images(tmp_path):
    scan = read_source(make_voc(tmp_path))
    by_name = {item.path.name: item for item in scan.items}
    assert process_image(0, by_name["c.jpg"], None, None).status == "corrupt_image"
    assert process_image(0, by_name["d.jpg"], None, None).status == "tiny_image"


@pytest.mark.parametrize("names_file", ["data.yaml", "classes.txt", "obj.names"])
def test_yolo_denormalises_boxes(tmp_path, names_file):
    scan = read_source(make_yolo(tmp_path, names_file))
    assert scan.layout == "yolo"
    (item,) = scan.items
    assert (item.width, item.height) == (400, 200)
    assert item.labels == ["mask", "no_mask"]
    np.testing.assert_allclose(item.boxes, [[60, 60, 140, 140], [280, 80, 320, 120]], atol=1e-3)
    assert scan.dropped["tiny_box"] == 1 and scan.dropped["unknown_label"] == 1


def test_class_folders(tmp_path):
    scan = read_source(make_folders(tmp_path))
    assert scan.layout == "folders"
    assert sorted((i.path.name, i.label) for i in scan.items) == [
        ("1.jpg", "mask"),
        ("2.jpg", "mask"),
        ("3.jpg", "no_mask"),
    ]
    assert all(isinstance(i, LabeledImage) and i.source == "folderset" for i in scan.items)
    assert scan.dropped["unknown_label"] == 1 and scan.unknown_names == {"cat": 1}


def test_root_of_sources_and_exclude(tmp_path):
    make_voc(tmp_path), make_yolo(tmp_path), make_folders(tmp_path)
    assert detect_layout(tmp_path) is None
    assert [n for n, _ in find_sources(tmp_path)] == ["folderset", "vocset", "yoloset"]
    scans = read_sources([tmp_path], exclude=["yoloset"])
    assert {s.name: s.layout for s in scans} == {"folderset": "folders", "vocset": "voc"}
    # A source folder given directly is one source.
    assert [s.name for s in read_sources([tmp_path / "vocset"])] == ["vocset"]


def test_bad_input_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        read_sources([tmp_path / "missing"])
    (tmp_path / "empty" / "stuff").mkdir(parents=True)
    with pytest.raises(UserError, match="no recognisable layout"):
        read_sources([tmp_path / "empty"])
    with pytest.raises(UserError, match="no recognisable layout"):
        read_source(tmp_path / "empty")
    # A YOLO data.yaml whose names cannot be read is no names file at all, not a crash.
    yolo = make_yolo(tmp_path, "data.yaml")
    for spec in ("- a\n- b\n", "names: {x: with_mask}\n", "names: [unclosed\n"):
        (yolo / "data.yaml").write_text(spec)
        with pytest.raises(UserError, match="no recognisable layout"):
            read_source(yolo)


def _object(name: str, box: tuple, extra: str = "") -> str:
    coords = "".join(f"<{k}>{v}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True))
    return f"<object><name>{name}</name>{extra}<bndbox>{coords}</bndbox></object>"


def test_voc_keeps_difficult_faces_and_counts_bad_annotations(tmp_path):
    """Where the evaluator marks difficult or raises, the importer keeps the face or drops and counts it."""
    src = tmp_path / "edges"
    write_jpeg(src / "images" / "e.jpg", scene(100, 80, 9))
    (src / "annotations").mkdir(parents=True)
    (src / "annotations" / "e.xml").write_text(
        "<annotation><filename>e.jpg</filename>"  # no <size>: taken from the image
        + _object("with_mask", (10, 10, 40, 40), "<difficult>1</difficult>")  # difficult: kept
        + _object("without_mask", (-5, 50, 30, 90))  # partly outside: clipped
        + _object("with_mask", (1, 2, "x", 40))  # a coordinate is not a number
        + _object("helmet", (1, 2, "", 40))  # lacks a coordinate: counted as bad before its label is looked at
        + "<object><name>with_mask</name></object>"  # no box: ignored
        + "</annotation>"
    )
    (src / "annotations" / "broken.xml").write_text("<annotation><filename>e.jpg")
    (src / "annotations" / "other.xml").write_text(
        "<settings><filename>e.jpg</filename></settings>"
    )  # not VOC: ignored
    (src / "annotations" / "lost.xml").write_text(voc_xml("lost.jpg", 50, 50, [("with_mask", (1, 1, 40, 40))]))
    scan = read_source(src)
    (item,) = scan.items
    assert (item.path.name, item.width, item.height) == ("e.jpg", 100, 80)
    assert item.labels == ["mask", "no_mask"]
    np.testing.assert_allclose(item.boxes, [[10, 10, 40, 40], [0, 50, 30, 80]])
    assert {k: v for k, v in scan.dropped.items() if v} == {"bad_annotation": 3, "missing_image": 1}
    assert not scan.unknown_names


def test_voc_size_that_is_not_a_number_counts_as_no_size(tmp_path):
    from maskwatch.data.voc_xml import parse_voc_xml

    xml = tmp_path / "a.xml"
    xml.write_text(
        "<annotation><filename>a.jpg</filename><size><width>wide</width><height>nan</height></size></annotation>"
    )
    ann = parse_voc_xml(xml)
    assert (ann.width, ann.height) == (0.0, 0.0)
