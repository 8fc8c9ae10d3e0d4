"""`collect:` is off by default, its crops go beside the snapshots unless told, and bad values name their line."""

from __future__ import annotations

import pytest

from maskwatch.config import load_config, parse_config
from maskwatch.core.errors import UserError


def test_collection_is_off_by_default_with_a_fortnight_and_small_crops():
    cfg = parse_config("cameras: [{name: a, source: 0}]\n")
    c = cfg.collect
    assert not c.enabled and c.retention_days == 14 and c.crop_max_side == 128
    assert c.reasons == ["reviewed", "unsure", "flipped"] and 0 < c.unsure_margin < 1


def test_the_cases_folder_is_beside_the_snapshots_unless_told(tmp_path):
    (tmp_path / "c.yaml").write_text("cameras: [{name: a, source: 0}]\nstorage: {snapshots: data/snaps}\n")
    assert load_config(tmp_path / "c.yaml").collect.folder == tmp_path / "data" / "cases"
    (tmp_path / "c.yaml").write_text("cameras: [{name: a, source: 0}]\ncollect: {enabled: true, folder: hard}\n")
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.collect.enabled and cfg.collect.folder == tmp_path / "hard"


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ("collect: {crop_max_side: 512}", "collect.crop_max_side: Input should be less than or equal to 128"),
        ("collect: {reasons: [everything]}", "collect.reasons[0]: Input should be 'reviewed', 'unsure' or 'flipped'"),
        ("collect: {unsure_margin: 1.5}", "collect.unsure_margin: Input should be less than 1"),
        ("collect: {keep_scene: true}", "collect.keep_scene: Extra inputs are not permitted"),
    ],
)
def test_bad_values_name_the_line(section, fragment):
    with pytest.raises(UserError) as err:
        parse_config("cameras: [{name: a, source: 0}]\n" + section + "\n", "cfg.yaml")
    assert str(err.value).startswith("cfg.yaml:2: ") and fragment in str(err.value), str(err.value)
