"""Zones and rules: zone of a face, hold time, cooldown, hours, labels per zone, ignored zones, sightings."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pytest

from maskwatch.core.detections import TrackLabel
from maskwatch.events import EventStore
from maskwatch.rules import RuleEngine, Zone, ignored, make_zones, zone_of
from maskwatch.track import LabelSmoother

NO_MASK = np.array([0.05, 0.9, 0.05], np.float32)


MASK = np.array([0.9, 0.05, 0.05], np.float32)


def _tl(track, label, stable, conf=0.9):
    return TrackLabel(track, label, conf, stable, 0.0, 0.0, np.zeros(3))


def _local(text: str) -> float:
    """Epoch seconds of a local wall-clock time, as the service's frames carry them."""
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def test_zone_by_face_centre_and_whole_frame_default():
    zones = [Zone("left", np.array([[0, 0], [0.5, 0], [0.5, 1], [0, 1]], np.float32), True)]
    assert zone_of([10, 10, 90, 90], 200, 100, zones).name == "left"  # centre (50, 50) → (0.25, 0.5)
    assert zone_of([80, 10, 160, 90], 200, 100, zones) is None  # centre x 120/200 = 0.6
    whole = make_zones([])
    assert len(whole) == 1 and whole[0].restricted and zone_of([150, 40, 190, 90], 200, 100, whole).name == "frame"


def test_rules_hold_time_zone_labels_and_cooldown():
    zones = [
        Zone("door", np.array([[0, 0], [0.5, 0], [0.5, 1], [0, 1]], np.float32), True),
        Zone("hall", np.array([[0.5, 0], [1, 0], [1, 1], [0.5, 1]], np.float32), False),
    ]
    rules = RuleEngine("cam", zones, ["no_mask", "incorrect"], min_seconds=1.0, min_confidence=0.5, cooldown_seconds=10)
    left, right = (10, 10, 50, 50), (150, 10, 190, 50)
    assert rules.check([(0, _tl(1, "no_mask", 0.5), left)], 200, 100, 0.0) == []  # not held long enough
    assert rules.check([(0, _tl(1, "no_mask", 2.0, conf=0.4), left)], 200, 100, 0.0) == []  # not confident
    assert rules.check([(0, _tl(2, "no_mask", 2.0), right)], 200, 100, 0.0) == []  # unrestricted zone
    assert rules.check([(0, _tl(3, "mask", 2.0), left)], 200, 100, 0.0) == []  # label does not alert
    alerts = rules.check([(0, _tl(1, "no_mask", 2.0), left), (1, _tl(4, "incorrect", 1.5), left)], 200, 100, 1.0)
    assert [(a.track_id, a.zone, a.label, a.face_index) for a in alerts] == [
        (1, "door", "no_mask", 0),
        (4, "door", "incorrect", 1),
    ]
    assert rules.check([(0, _tl(1, "no_mask", 5.0), left)], 200, 100, 9.0) == []  # cooldown per track
    assert [a.track_id for a in rules.check([(0, _tl(1, "no_mask", 12.0), left)], 200, 100, 11.5)] == [1]


def test_zone_hours_in_local_time_including_windows_past_midnight():
    from maskwatch.config import ZoneConfig
    from maskwatch.rules.hours import parse_window

    # 2026-11-27 is a Friday.
    (door,) = make_zones(
        [
            ZoneConfig(
                name="door",
                polygon=[(0, 0), (1, 0), (1, 1)],
                hours=["mon-fri 08:00-18:00", "fri 22:00-06:00", "sun 10:00-12:30"],
            )
        ]
    )
    expected = {
        "2026-11-27 07:59": False,
        "2026-11-27 08:00": True,
        "2026-11-27 17:59": True,
        "2026-11-27 18:00": False,
        "2026-11-27 23:30": True,
        "2026-11-28 05:59": True,
        "2026-11-28 06:00": False,
        "2026-11-28 12:00": False,
        "2026-11-29 12:29": True,
        "2026-11-29 12:30": False,
        "2026-11-30 09:00": True,
    }
    assert {t: door.restricted_at(_local(t)) for t in expected} == expected
    assert make_zones([])[0].restricted_at(_local("2026-11-28 03:00"))  # no hours: always
    open_zone = make_zones(
        [ZoneConfig(name="hall", polygon=[(0, 0), (1, 0), (1, 1)], restricted=False, hours=["daily 00:00-24:00"])]
    )[0]
    assert not open_zone.restricted_at(_local("2026-11-27 12:00"))  # hours never make an open zone restricted
    assert parse_window("sat-mon 09:00-10:00").days == {5, 6, 0} and parse_window("daily 00:00-24:00").end == 24 * 60
    for bad, why in (
        ("mon 8-9", "DAYS HH:MM-HH:MM"),
        ("funday 08:00-09:00", "days are"),
        ("mon 08:00-24:30", "not a time"),
        ("mon 08:00-08:00", "empty"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_window(bad)


def test_zone_hours_in_the_configured_time_zone():
    from datetime import datetime

    from maskwatch.config import RulesConfig, ZoneConfig

    berlin = RulesConfig(timezone="Europe/Berlin").tzinfo
    lab = [ZoneConfig(name="lab", polygon=[(0, 0), (1, 0), (1, 1)], hours=["mon-fri 08:00-18:00"])]

    def utc(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()

    (in_berlin,), (in_utc,) = make_zones(lab, berlin), make_zones(lab, UTC)
    # Berlin is UTC+1 in winter and UTC+2 in summer
    assert in_berlin.restricted_at(utc("2026-11-27 07:30")) and not in_utc.restricted_at(utc("2026-11-27 07:30"))
    assert not in_berlin.restricted_at(utc("2026-07-03 16:30")) and in_utc.restricted_at(utc("2026-07-03 16:30"))
    assert RulesConfig().tzinfo is None  # unset: the machine's local time


def test_rules_alert_only_while_the_zone_is_in_force():
    from maskwatch.config import ZoneConfig

    zones = make_zones(
        [ZoneConfig(name="lab", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)], hours=["mon-fri 08:00-18:00"])]
    )
    rules = RuleEngine("cam", zones, ["no_mask"], min_seconds=0.0, min_confidence=0.5, cooldown_seconds=0)
    face = [(0, _tl(1, "no_mask", 2.0), (10, 10, 50, 50))]
    assert rules.check(face, 200, 100, _local("2026-11-28 10:00")) == []  # Saturday
    assert [a.zone for a in rules.check(face, 200, 100, _local("2026-11-27 10:00"))] == ["lab"]


def test_one_bad_frame_on_a_masked_track_never_alerts_a_sustained_one_does():
    smoother = LabelSmoother(window=5)
    zones = make_zones([])
    rules = RuleEngine("cam", zones, ["no_mask", "incorrect"], min_seconds=1.0, min_confidence=0.5, cooldown_seconds=60)
    box = (40, 40, 80, 90)
    alerts = []
    for step in range(30):  # 6 s at 5 fps: masked, one unmasked-looking frame at 1 s, then unmasked from 3 s on
        t = step / 5
        probs = NO_MASK if step == 5 or step >= 15 else MASK
        tl = smoother.update(1, probs, t)
        alerts += [(t, a.label) for a in rules.check([(0, tl, box)], 200, 200, t)]
    assert len(alerts) == 1
    t, label = alerts[0]
    assert label == "no_mask" and 3.4 <= t <= 4.6  # the mean flips after 3 of 5 frames, then it must hold 1 s


def test_sightings_count_each_track_once_under_its_first_held_label():
    zones = [Zone("door", np.array([[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]], np.float32), True)]
    rules = RuleEngine("cam", zones, ["no_mask"], min_seconds=1.0, min_confidence=0.5, cooldown_seconds=60)
    in_door, outside = (10, 10, 40, 40), (150, 60, 190, 95)  # a 200 x 100 frame; the zone is its top-left quarter
    assert rules.count([(0, _tl(1, "mask", 0.4), in_door)], 200, 100, 10.0) == []  # not held long enough yet
    assert rules.count([(0, _tl(1, "mask", 2.0, conf=0.4), in_door)], 200, 100, 10.5) == []  # too unsure
    first = rules.count([(0, _tl(1, "mask", 2.0), in_door), (1, _tl(2, "no_mask", 3.0), outside)], 200, 100, 11.0)
    assert [(s.camera, s.zone, s.label, s.time) for s in first] == [
        ("cam", "door", "mask", 11.0),
        ("cam", None, "no_mask", 11.0),
    ]
    # the same tracks later, seen again: not counted again
    assert rules.count([(0, _tl(1, "mask", 5.0), in_door), (1, _tl(2, "no_mask", 9.0), outside)], 200, 100, 15.0) == []
    # the masked face pulls the mask down (held long enough, even outside the zone): moved to no_mask, in the hour
    # and zone it was counted in; a mask put back on later does not move it back
    assert rules.count([(0, _tl(1, "no_mask", 0.5), outside)], 200, 100, 19.0) == []  # not held long enough yet
    moved = rules.count([(0, _tl(1, "no_mask", 1.5), outside)], 200, 100, 20.0)
    assert [(s.zone, s.label, s.time, s.people) for s in moved] == [
        ("door", "mask", 11.0, -1),
        ("door", "no_mask", 11.0, 1),
    ]
    assert rules.count([(0, _tl(1, "mask", 9.0), in_door)], 200, 100, 30.0) == []
    store = EventStore(":memory:")
    store.add_sightings(first + moved)
    assert [(r["zone"], r["label"], r["people"]) for r in store.sightings()] == [
        ("", "no_mask", 1),
        ("door", "no_mask", 1),
    ]


def test_an_open_zone_first_silences_a_poster_inside_a_restricted_one():
    everywhere = Zone("hall", np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32), True)
    poster = Zone("poster", np.array([[0, 0], [0.3, 0], [0.3, 0.5], [0, 0.5]], np.float32), False)
    face_on_poster, person = (10, 10, 40, 40), (150, 40, 180, 80)  # a 200 x 100 frame
    faces = [(0, _tl(1, "no_mask", 5.0), face_on_poster), (1, _tl(2, "no_mask", 5.0), person)]
    silenced = RuleEngine(
        "cam", [poster, everywhere], ["no_mask"], min_seconds=1, min_confidence=0.5, cooldown_seconds=0
    )
    assert [(a.track_id, a.zone) for a in silenced.check(faces, 200, 100, 10.0)] == [(2, "hall")]
    unordered = RuleEngine(
        "cam", [everywhere, poster], ["no_mask"], min_seconds=1, min_confidence=0.5, cooldown_seconds=0
    )
    assert [a.track_id for a in unordered.check(faces, 200, 100, 10.0)] == [1, 2]  # the first zone decides


def test_a_zone_may_alert_on_other_labels_than_the_rules():
    from maskwatch.config import parse_config
    from maskwatch.core.errors import UserError

    cfg = parse_config("""
cameras:
  - name: cam
    source: 0
    zones:
      - {name: theatre, polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], alert_labels: [no_mask, incorrect]}
      - {name: corridor, polygon: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]}
rules: {alert_labels: [no_mask]}
""")
    rules = RuleEngine(
        "cam",
        make_zones(cfg.cameras[0].zones),
        cfg.rules.alert_labels,
        min_seconds=1,
        min_confidence=0.5,
        cooldown_seconds=0,
    )
    left, right = (10, 10, 50, 50), (150, 10, 190, 50)  # a 200 x 100 frame
    faces = [
        (0, _tl(1, "incorrect", 5.0), left),
        (1, _tl(2, "incorrect", 5.0), right),
        (2, _tl(3, "no_mask", 5.0), right),
    ]
    assert [(a.track_id, a.zone) for a in rules.check(faces, 200, 100, 10.0)] == [(1, "theatre"), (3, "corridor")]
    with pytest.raises(UserError, match=r"alert_labels\[0\]"):
        parse_config(
            "cameras: [{name: c, source: 0, zones: [{name: z, polygon: [[0, 0], [1, 0], [1, 1]], "
            "alert_labels: [no_masks]}]}]"
        )


def test_faces_in_an_ignored_zone_are_left_out_wherever_it_lies_in_the_list():
    from maskwatch.config import parse_config
    from maskwatch.core.errors import UserError

    cfg = parse_config("""
cameras:
  - name: cam
    source: 0
    zones:
      - {name: door, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}
      - {name: poster, polygon: [[0, 0], [0.3, 0], [0.3, 0.6], [0, 0.6]], ignore: true}
""")
    zones = make_zones(cfg.cameras[0].zones)
    rules = RuleEngine("cam", zones, ["no_mask"], min_seconds=1, min_confidence=0.5, cooldown_seconds=0)
    poster, person = (10, 10, 40, 40), (100, 10, 140, 50)  # in a 200 x 100 frame; the poster's centre in both zones
    assert ignored(poster, 200, 100, zones) and not ignored(person, 200, 100, zones)
    assert zone_of(poster, 200, 100, zones).name == "door"  # the zone it is in, were it not ignored
    faces = [(0, _tl(1, "no_mask", 5.0), poster), (1, _tl(2, "no_mask", 5.0), person)]
    assert [a.track_id for a in rules.check(faces, 200, 100, 10.0)] == [2]
    assert [(s.zone, s.label) for s in rules.count(faces, 200, 100, 10.0)] == [("door", "no_mask")]
    with pytest.raises(UserError, match=r"zones\[0\]: an ignored zone takes no hours or alert_labels"):
        parse_config(
            "cameras: [{name: c, source: 0, zones: [{name: z, polygon: [[0, 0], [1, 0], [1, 1]], ignore: true, "
            "hours: ['daily 08:00-09:00']}]}]"
        )
