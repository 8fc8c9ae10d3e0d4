"""The config findings of issue 18: YAML that would silently lose data or hang is refused in one line, a camera may
not take the service's MQTT topic, tokens must not be guessable, zones are capped, an exposed plain-HTTP UI warns."""

from __future__ import annotations

import socket

import pytest

from helpers_service.cli import one_line_error, run_cli
from maskwatch.config import MAX_POLYGON_POINTS, MAX_ZONES_PER_CAMERA, AppConfig, UIConfig, parse_config
from maskwatch.core.errors import UserError

CAMERA = "cameras: [{name: a, source: 0}]\n"
TRIANGLE = "[[0, 0], [1, 0], [1, 1]]"


def error_of(text: str) -> str:
    with pytest.raises(UserError) as err:
        parse_config(text, "cfg.yaml")
    message = str(err.value)
    assert "\n" not in message and message.startswith("cfg.yaml"), message
    return message


# --- keys given twice ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "line", "key"),
    [
        ("cameras: [{name: a, source: 0}]\nui: {port: 1}\ncameras: [{name: b, source: 1}]\n", 1, 3, "cameras"),
        ("cameras:\n  - name: a\n    source: 0\n    fps: 3\n    fps: 4\n", 4, 5, "fps"),
        (CAMERA + "sinks:\n  mqtt: {host: a, host: b}\n", 3, 3, "host"),
        (
            "cameras:\n  - name: a\n    source: 0\n    zones:\n      - {name: z, polygon: [], polygon: []}\n",
            5,
            5,
            "polygon",
        ),
        (CAMERA + "ui: {port: 1, 'port': 2}\n", 2, 2, "port"),  # quoting does not make it another key
    ],
)
def test_a_key_given_twice_is_an_error_at_any_depth(text, first, line, key):
    assert error_of(text) == (
        f"cfg.yaml:{line}: key {key!r} is given twice (first on line {first}): the second would silently replace "
        "the first"
    )


def test_merge_keys_may_still_override_what_they_merge():
    cfg = parse_config("cameras:\n  - &cam {name: a, source: 0, fps: 2}\n  - <<: *cam\n    name: b\n")
    assert [(c.name, c.fps) for c in cfg.cameras] == [("a", 2.0), ("b", 2.0)]


# --- aliases ---------------------------------------------------------------------------------------------------


def _alias_bomb(levels: int) -> str:
    """The "billion laughs": each level an anchored list of ten aliases of the level before."""
    anchors = ["&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    anchors += [f"&l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return f"cameras: [{{name: a, source: [{', '.join(anchors)}]}}]\n"


def test_an_alias_bomb_is_refused_before_it_expands():
    # 10^6 strings: expanded, this took seconds and then complained about the source's type instead
    assert error_of(_alias_bomb(6)) == (
        "cfg.yaml:1: aliases expand to more than 100000 values (an alias bomb?): repeat less"
    )


def test_the_billion_laughs_end_config_check_at_once(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb(9))
    one_line_error(run_cli("config", "check", str(path), timeout=30), "an alias bomb?")


@pytest.mark.parametrize(
    "text",
    [
        "cameras: &c [{name: a, source: 0, zones: *c}]\n",
        CAMERA + "rules: &r {alert_labels: [*r]}\n",
        CAMERA + "ui: &u {<<: *u}\n",
    ],
)
def test_a_recursive_alias_isone_line_error(text, tmp_path):
    assert "(a recursive alias)" in error_of(text)
    path = tmp_path / "c.yaml"
    path.write_text(text)
    for args in (("config", "check", str(path)), ("serve", "--config", str(path))):
        one_line_error(run_cli(*args), "(a recursive alias)")


def test_anchors_that_repeat_a_little_are_still_fine():
    cfg = parse_config(
        f"cameras:\n  - name: a\n    source: 0\n    zones: &z [{{name: z, polygon: {TRIANGLE}}}]\n"
        "  - name: b\n    source: 1\n    zones: *z\n"
    )
    assert cfg.cameras[0].zones == cfg.cameras[1].zones


# --- odd YAML: one line each, never a traceback ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cameras: " + "[" * 3000 + "]" * 3000 + "\n", "cfg.yaml:1: nested more than 50 levels deep"),
        (
            "cameras: [{name: a, source: 0}]\nui: {token: \x00}\n",
            "cfg.yaml:2: YAML error: character #x0000 is not allowed",
        ),
        ("cameras: !!int many\n", "cfg.yaml:1: cannot read 'many' as int"),
        ("cameras: 2001-02-30\n", "cfg.yaml:1: cannot read '2001-02-30' as timestamp"),
        (CAMERA + '"bad\\nkey": 1\n', "cfg.yaml:2: bad\\nkey: Extra inputs are not permitted"),  # a real line break
    ],
)
def test_odd_yaml_is_one_clear_line(text, expected):
    assert error_of(text) == expected


# --- names and tokens ------------------------------------------------------------------------------------------


def test_a_camera_may_not_take_the_services_own_mqtt_topic():
    assert error_of("cameras:\n  - name: door\n    source: 0\n  - name: service\n    source: 1\n") == (
        "cfg.yaml:4: cameras[1].name: the camera name 'service' is taken by the service's own MQTT topic: "
        "choose another"
    )
    assert parse_config("cameras: [{name: services, source: 0}, {name: Service, source: 1}]").cameras


@pytest.mark.parametrize("key", ["token", "viewer_token"])
@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("aaaaaaaaaaaaaaaaaaaa", "at least 6 different characters"),
        ("abcabcabcabcabc", "at least 6 different characters"),
        ("                    ", "spaces or control characters"),
        ("\t\t\t\t\t\t\t\t\t\t\t\t", "spaces or control characters"),
        (" padded-token-1234 ", "spaces or control characters"),
        ("two words-token-1234", "spaces or control characters"),
        ("short-1", "at least 12 characters"),
    ],
)
def test_guessable_tokens_are_refused(key, token, why):
    message = error_of(CAMERA + f"ui:\n  {key}: {token!r}\n".replace("'", '"').replace("\t", "\\t"))
    assert message.startswith(f"cfg.yaml:3: ui.{key}: ") and why in message, message


def test_a_random_token_is_accepted():
    ui = parse_config(CAMERA + "ui: {token: Xq3-vT9_kLm2Rw8z, viewer_token: '123456789012'}\n").ui
    assert ui.token == "Xq3-vT9_kLm2Rw8z" and ui.viewer_token == "123456789012"
    assert len(set(AppConfig.default_demo().ensure_token())) >= 6


# --- zone caps: the file and the zone editor alike -------------------------------------------------------------


def _zones(n: int, points: int = 3) -> list[dict]:
    polygon = [[i / points, (i % 2) / 2] for i in range(points)]
    return [{"name": f"z{i}", "polygon": polygon} for i in range(n)]


def test_zones_and_their_points_are_capped_in_the_file():
    import yaml

    def config(zones):
        return yaml.safe_dump({"cameras": [{"name": "a", "source": 0, "zones": zones}]}, default_flow_style=None)

    assert len(parse_config(config(_zones(MAX_ZONES_PER_CAMERA, MAX_POLYGON_POINTS))).cameras[0].zones) == 50
    assert "cameras[0].zones: List should have at most 50 items" in error_of(config(_zones(MAX_ZONES_PER_CAMERA + 1)))
    assert "cameras[0].zones[0].polygon: List should have at most 64 items" in error_of(config(_zones(1, 100_000)))
    assert "cameras[0].zones[0].hours: List should have at most 28 items" in error_of(
        config([{**_zones(1)[0], "hours": ["mon 08:00-09:00"] * 29}])
    )


def test_zones_and_their_points_are_capped_in_the_zone_editor(tmp_path):
    from maskwatch.service import Service

    path = tmp_path / "c.yaml"
    path.write_text(CAMERA)
    service = Service(parse_config(CAMERA), path)
    for zones, message in (
        (_zones(MAX_ZONES_PER_CAMERA + 1), "zones: List should have at most 50 items"),
        (_zones(1, MAX_POLYGON_POINTS + 1), "zones[0].polygon: List should have at most 64 items"),
    ):
        with pytest.raises(UserError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
            service.set_zones("a", zones)
        assert path.read_text() == CAMERA  # nothing written
    service.set_zones("a", _zones(MAX_ZONES_PER_CAMERA, MAX_POLYGON_POINTS))
    assert len(service.zones("a")) == 50 and "z49" in path.read_text()


# --- the UI on the network without TLS ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.5", "example.org"])
def test_a_ui_reachable_from_other_machines_over_plain_http_warns(host):
    assert "unencrypted" in UIConfig(host=host).exposure_warning()
    assert UIConfig(host=host, tls_cert="c.pem", tls_key="k.pem").exposure_warning() is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "localhost"])
def test_a_ui_on_this_machine_only_does_not_warn(host):
    assert UIConfig(host=host).exposure_warning() is None


def test_config_check_and_serve_warn_once_about_an_exposed_plain_http_ui(tmp_path):
    with socket.socket() as busy:  # serve stops at the busy port, after its start-up checks
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = tmp_path / "c.yaml"
        path.write_text(CAMERA + f"ui: {{host: 0.0.0.0, port: {port}}}\n")
        checked = run_cli("config", "check", str(path))
        served = run_cli("serve", "--config", str(path))
    assert checked.returncode == 0 and checked.stderr.count("ui.host 0.0.0.0 is reachable from other machines") == 1
    assert served.returncode == 2 and served.stderr.count("ui.host 0.0.0.0 is reachable from other machines") == 1
    assert served.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 0.0.0.0:{port}")
    path.write_text(CAMERA + f"ui: {{port: {port}}}\n")
    assert "reachable" not in run_cli("config", "check", str(path)).stderr
