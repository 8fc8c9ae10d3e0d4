"""Property tests (hypothesis) of the config loader and the zone parser: whatever the text, the loader answers with
a config or one line naming the file; a valid config survives dump and load, and the zone editor's write-back;
an accepted zone lies inside the frame, and a hours window parses or is refused with a ValueError."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from maskwatch.config import (
    MAX_POLYGON_POINTS,
    MAX_ZONES_PER_CAMERA,
    RESERVED_CAMERA_NAMES,
    AppConfig,
    ZoneConfig,
    ZoneList,
    dump_config,
    load_config,
    parse_config,
)
from maskwatch.config.edit import save_zones
from maskwatch.core.errors import UserError
from maskwatch.rules.hours import DAYS, parse_window

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND_TRIP = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies --------------------------------------------------------------------------------------------------

names = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=12).filter(
    lambda n: n not in RESERVED_CAMERA_NAMES
)
# on a 1/10000 grid: the zone editor writes 4 decimals, so these come back exactly
coordinates = st.integers(0, 10_000).map(lambda k: k / 10_000)
polygons = st.lists(st.tuples(coordinates, coordinates), min_size=3, max_size=MAX_POLYGON_POINTS)
times = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda hm: f"{hm[0]:02d}:{hm[1]:02d}")
day_specs = st.one_of(
    st.just("daily"),
    st.sampled_from(DAYS),
    st.tuples(st.sampled_from(DAYS), st.sampled_from(DAYS)).map("-".join),
    st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True).map(",".join),
)
windows = st.tuples(day_specs, times, times).filter(lambda w: w[1] != w[2]).map(lambda w: f"{w[0]} {w[1]}-{w[2]}")
labels = st.sampled_from(["mask", "no_mask", "incorrect"])
tokens = st.text(string.ascii_letters + string.digits + "-_", min_size=12, max_size=40).filter(
    lambda t: len(set(t)) >= 6
)


@st.composite
def zone_dicts(draw, name: str) -> dict:
    zone: dict = {"name": name, "polygon": [list(p) for p in draw(polygons)]}
    if draw(st.booleans()):
        zone["ignore"] = True
        return zone
    zone["restricted"] = draw(st.booleans())
    if draw(st.booleans()):
        zone["hours"] = draw(st.lists(windows, max_size=3))
    if draw(st.booleans()):
        zone["alert_labels"] = draw(st.lists(labels, min_size=1, max_size=3, unique=True))
    return zone


@st.composite
def zone_lists(draw, max_size: int = 4) -> list[dict]:
    zone_names = draw(st.lists(names, max_size=max_size, unique=True))
    return [draw(zone_dicts(n)) for n in zone_names]


sources = st.one_of(
    st.integers(0, 9),
    st.from_regex(r"rtsp://[a-z]{1,8}(:[0-9]{2,5})?/[a-z0-9/]{0,12}", fullmatch=True),
    st.from_regex(r"https?://[a-z]{1,8}/[a-z0-9.]{1,12}", fullmatch=True),
)


@st.composite
def config_dicts(draw) -> dict:
    camera_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    cameras = [
        {
            "name": n,
            "source": draw(sources),
            "fps": draw(st.floats(0.1, 60, allow_nan=False)),
            "zones": draw(zone_lists()),
            **({"clips": draw(st.booleans())} if draw(st.booleans()) else {}),
        }
        for n in camera_names
    ]
    config: dict = {"cameras": cameras}
    if draw(st.booleans()):
        config["rules"] = {"cooldown_seconds": draw(st.floats(0, 3600)), "alert_labels": draw(st.lists(labels))}
    if draw(st.booleans()):
        config["ui"] = {"port": draw(st.integers(0, 65535)), "token": draw(tokens)}
    if draw(st.booleans()):
        config["sinks"] = {"mqtt": {"host": "broker", "qos": draw(st.sampled_from([0, 1, 2]))}, "log": False}
    if draw(st.booleans()):
        config["detector"] = {"input_size": draw(st.integers(128, 2048)), "threads": draw(st.integers(1, 8))}
    return config


# YAML-ish text: real config keys, YAML's own punctuation (anchors, aliases, tags, merges), odd characters
FRAGMENTS = [
    "cameras:", "  - name: a", "    source: 0", "zones:", "polygon: [[0, 0], [1, 0], [1, 1]]", "hours:", "ui:",
    "token:", "sinks:", "mqtt: {host: x}", "&a", "*a", "&b [*a, *a]", "<<: *a", "!!int", "!!python/object:os.system",
    "!!binary", "${HOME}", "${NOPE_NOT_SET}", "- ", ": ", "? ", "[", "]", "{", "}", ",", "'", '"', "#", "---", "...",
    "|", ">", "\t", "\n", "  ", "\x00", "\x85", "\u2028", "2001-02-30", ".nan", ".inf", "1e999", "0x1F", "~", "null",
    "yes", "service", "aaaaaaaaaaaa", '"a\\nb": 1', '"\\x00\\u2028\\r"',  # YAML escapes: real line breaks in keys
]  # fmt: skip
# text with the characters that break lines, quoting and YAML's structure over-represented
odd_text = st.one_of(
    st.text(max_size=12), st.text(st.sampled_from("ab_-.: \n\r\t\x00\x85\u2028#&*!'\"${}[]"), max_size=12)
)
junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), odd_text, st.lists(st.integers()))


@st.composite
def mutated_configs(draw) -> str:
    """A valid config with one value replaced by junk or one key added, any characters in it, as YAML."""
    config = draw(config_dicts())
    node = config
    while True:  # walk down to a random mapping
        children = [v for v in (node.values() if isinstance(node, dict) else node) if isinstance(v, (dict, list))]
        if not children or draw(st.booleans()):
            break
        node = draw(st.sampled_from(children))
    if isinstance(node, dict):
        key = draw(st.one_of(st.sampled_from(sorted(node)), odd_text))
        node[key] = draw(junk)
    elif node:
        node[draw(st.integers(0, len(node) - 1))] = draw(junk)
    return yaml.safe_dump(config, allow_unicode=draw(st.booleans()))


yamlish_texts = st.one_of(
    mutated_configs(),
    st.text(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=20).map("\n".join),
    config_dicts().map(lambda c: yaml.safe_dump(c, default_flow_style=None)),
    st.tuples(config_dicts(), st.integers(0, 10_000), st.sampled_from(FRAGMENTS)).map(
        lambda c: _insert(yaml.safe_dump(c[0]), c[1], c[2])
    ),
)


def _insert(text: str, at: int, fragment: str) -> str:
    at %= len(text) + 1
    return text[:at] + fragment + text[at:]


# --- the loader ----------------------------------------------------------------------------------------------


@FUZZ
@given(yamlish_texts)
def test_the_loader_answers_a_config_or_one_line_naming_the_file(text):
    try:
        config = parse_config(text, "cfg.yaml")
    except UserError as err:
        message = str(err)
        assert message.startswith("cfg.yaml") and len(message.splitlines()) == 1, message
    else:
        assert isinstance(config, AppConfig) and config.cameras


@ROUND_TRIP
@given(config_dicts())
def test_a_valid_config_survives_dump_and_load(data):
    config = AppConfig.model_validate(data)
    assert parse_config(dump_config(config)) == config


@ROUND_TRIP
@given(config_dicts(), st.data())
def test_zones_saved_by_the_editor_come_back_and_leave_the_rest_alone(data, draw):
    config = AppConfig.model_validate(data)
    camera = draw.draw(st.sampled_from([c.name for c in config.cameras]))
    zones = TypeAdapter(ZoneList).validate_python(draw.draw(zone_lists()))
    flow = draw.draw(st.booleans())  # flow style: the editor rewrites the whole file instead of the one entry
    text = yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True), default_flow_style=flow)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(text)
        save_zones(path, camera, zones)
        saved = load_config(path)
        expected = config.model_copy(deep=True)
        expected.camera(camera).zones = zones
        expected.resolve_paths(path.resolve().parent)
    assert saved == expected


# --- the zone parser -----------------------------------------------------------------------------------------

any_numbers = st.one_of(st.floats(), st.integers(-(10**20), 10**20), st.text(max_size=4), st.none())


@FUZZ
@given(st.lists(st.lists(any_numbers, max_size=3), max_size=MAX_POLYGON_POINTS + 8))
def test_an_accepted_polygon_lies_inside_the_frame(points):
    try:
        zone = ZoneConfig.model_validate({"name": "z", "polygon": points})
    except ValidationError:
        return
    assert 3 <= len(zone.polygon) <= MAX_POLYGON_POINTS
    assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in zone.polygon)


@FUZZ
@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from([*DAYS, "daily", "-", ",", " ", ":", "0", "9", "24"]), max_size=12).map("".join),
    )
)
def test_a_hours_window_parses_or_is_refused_with_a_value_error(text):
    try:
        window = parse_window(text)
    except ValueError:
        return
    assert window.days and window.days <= set(range(7))
    assert 0 <= window.start < 24 * 60 and 0 <= window.end <= 24 * 60 and window.start != window.end


@FUZZ
@given(day_specs, times, times)
def test_a_written_window_means_what_it_says(days, start, end):
    assume(start != end)
    window = parse_window(f"{days} {start}-{end}".upper())
    minutes = [int(t[:2]) * 60 + int(t[3:]) for t in (start, end)]
    assert (window.start, window.end) == tuple(minutes)
    first, _, last = days.partition("-")
    if days == "daily":
        assert window.days == set(range(7))
    elif "," in days:
        assert window.days == {DAYS.index(d) for d in days.split(",")}
    else:
        a, b = DAYS.index(first), DAYS.index(last or first)
        assert window.days == {(a + k) % 7 for k in range((b - a) % 7 + 1)}
    day = min(window.days)
    assert window.covers(day, minutes[0])
    if minutes[0] < minutes[1]:  # within the day
        assert window.covers(day, minutes[1] - 1) and not window.covers(day, minutes[1])
    else:  # past midnight, into the next day's early hours
        assert window.covers((day + 1) % 7, minutes[1] - 1) if minutes[1] else window.covers(day, 24 * 60 - 1)


@FUZZ
@given(st.lists(st.one_of(windows, st.text(max_size=20)), max_size=40))
def test_a_zone_keeps_only_hours_that_parse(hours):
    try:
        zone = ZoneConfig.model_validate({"name": "z", "polygon": [[0, 0], [1, 0], [1, 1]], "hours": hours})
    except ValidationError:
        return
    assert len(zone.hours) <= 28
    for entry in zone.hours:
        parse_window(entry)


@ROUND_TRIP
@given(st.integers(0, MAX_ZONES_PER_CAMERA + 5))
def test_a_camera_takes_up_to_its_zone_cap(n):
    zones = [{"name": f"z{i}", "polygon": [[0, 0], [1, 0], [1, 1]]} for i in range(n)]
    try:
        accepted = TypeAdapter(ZoneList).validate_python(zones)
    except ValidationError:
        assert n > MAX_ZONES_PER_CAMERA
    else:
        assert len(accepted) == n <= MAX_ZONES_PER_CAMERA
