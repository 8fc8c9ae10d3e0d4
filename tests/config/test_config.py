"""The service config: validation errors name the YAML line; `config check` prints one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers_service.cli import run_cli
from maskwatch.config import AppConfig, load_config, parse_config
from maskwatch.config.edit import save_zones
from maskwatch.core.errors import UserError
from maskwatch.core.paths import REPO_ROOT

GOOD = """\
cameras:
  - name: door
    source: rtsp://user:pw@10.0.0.5/stream
    fps: 4
    zones:
      - name: entry
        polygon: [[0, 0], [0.5, 0], [0.5, 1]]
  - name: lobby
    source: 0
sinks:
  mqtt: {host: localhost}
  webhooks:
    - url: https://vms.example/hook
      secret: s
"""


def error_of(text: str) -> str:
    with pytest.raises(UserError) as err:
        parse_config(text, "cfg.yaml")
    return str(err.value)


def test_good_config_parses_with_defaults():
    cfg = parse_config(GOOD)
    door, lobby = cfg.cameras
    assert door.kind == "rtsp" and lobby.kind == "webcam" and lobby.source == 0
    assert door.zones[0].restricted is True and door.zones[0].polygon[1] == (0.5, 0.0)
    assert cfg.rules.alert_labels == ["no_mask", "incorrect"] and cfg.rules.cooldown_seconds == 60
    assert cfg.sinks.mqtt.port == 1883 and cfg.sinks.mqtt.qos == 1 and cfg.sinks.webhooks[0].secret == "s"
    assert cfg.privacy.blur_live and not cfg.privacy.snapshot_show_offender and cfg.storage.retention_days == 7
    assert cfg.ui.host == "127.0.0.1" and cfg.ui.port == 8080 and cfg.ui.token is None
    assert not cfg.clips.enabled  # video, even with faces hidden: only when asked for


def test_clips_go_beside_the_snapshots_unless_told(tmp_path):
    (tmp_path / "c.yaml").write_text("cameras: [{name: a, source: 0}]\nstorage: {snapshots: data/snaps}\n")
    assert load_config(tmp_path / "c.yaml").storage.clips == tmp_path / "data" / "clips"
    (tmp_path / "c.yaml").write_text("cameras: [{name: a, source: 0}]\nstorage: {clips: /srv/clips}\n")
    assert load_config(tmp_path / "c.yaml").storage.clips == Path("/srv/clips")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (GOOD.replace("fps: 4", "fps: -4"), 4, "cameras[0].fps: Input should be greater than 0"),
        (GOOD.replace("[0.5, 1]]", "[0.5, 1.7]]"), 7, "cameras[0].zones[0].polygon: point (0.5, 1.7) is outside 0..1"),
        (
            GOOD.replace("[0.5, 1]]", "[0.5, 1]]\n        hours: [mon-fri 08:00-18:00, 'weekends 9-5']"),
            8,
            "cameras[0].zones[0].hours: 'weekends 9-5': write DAYS HH:MM-HH:MM",
        ),
        (
            GOOD + "rules: {timezone: Europe/Atlantis}\n",
            15,
            "rules.timezone: 'Europe/Atlantis' is not a time zone: write an IANA name such as 'Europe/Berlin'",
        ),
        (GOOD.replace("name: lobby", "name: door"), 1, "camera names repeat"),
        (
            GOOD + "ui: {token: same-token-123, viewer_token: same-token-123}\n",
            15,
            "viewer_token must differ from token",
        ),
        (GOOD + "ui: {viewer_token: short}\n", 15, "ui.viewer_token: String should have at least 12 characters"),
        (GOOD.replace("url: https://vms.example/hook", "url: ftp://vms"), 13, "sinks.webhooks[0].url"),
        (GOOD.replace("mqtt: {host: localhost}", "mqtt: {port: 1}"), 11, "sinks.mqtt.host: Field required"),
        (GOOD + "colour: red\n", 15, "colour: Extra inputs are not permitted"),
        (
            GOOD + "clips: {before_seconds: 10, after_seconds: 30}\n",
            15,
            "clips: max_seconds must be at least before_seconds + after_seconds",
        ),
        (GOOD.replace("    fps: 4\n", "    fps: 4\n   bad: [\n"), 5, "YAML syntax error"),
        ("cameras: []\n", 1, "cameras: List should have at least 1 item"),
        ("- a\n- b\n", 1, "must be a mapping"),
    ],
)
def test_errors_name_the_line(text, line, fragment):
    message = error_of(text)
    assert message.startswith(f"cfg.yaml:{line}: "), message
    assert fragment in message and "\n" not in message


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "c.yaml").write_text("cameras: [{name: a, source: clips/a.mp4}]\nstorage: {database: db/e.db}\n")
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.cameras[0].source == str(tmp_path / "clips/a.mp4")
    assert cfg.storage.database == tmp_path / "db/e.db"


def test_default_demo_and_example_are_valid():
    demo = AppConfig.default_demo()
    assert demo.cameras[0].source.endswith("demo.mp4") and demo.cameras[0].loop
    assert demo.storage.database.parts[-2:] == ("maskwatch-data", "events.db")
    assert demo.privacy.blur_live and demo.storage.retention_days == 7 and demo.ui.port == 8080
    assert demo.clips.enabled and demo.storage.clips.parts[-2:] == ("maskwatch-data", "clips")  # the demo shows them
    assert demo.storage.max_media_mb == 500  # and, alerting all the time, keeps them from filling the disk
    token = demo.ensure_token()
    assert len(token) >= 20 and demo.ensure_token() == token
    example = load_config(REPO_ROOT / "examples" / "maskwatch.yaml")
    assert [z.name for z in example.cameras[0].zones] == ["door", "waiting-room"]


def test_save_zones_round_trip(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(GOOD)
    zones = (
        parse_config(
            "cameras: [{name: x, source: 0, zones: [{name: z, polygon: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]], "
            "restricted: false}, {name: y, polygon: [[0, 0], [1, 0], [1, 1]], alert_labels: [no_mask]}, "
            "{name: poster, polygon: [[0, 0], [0.2, 0], [0.2, 0.2]], ignore: true}]}]"
        )
        .cameras[0]
        .zones
    )
    assert zones[2].ignore and not zones[2].restricted  # ignored: never restricted
    save_zones(path, "lobby", zones)
    cfg = load_config(path)
    assert cfg.cameras[1].zones == zones and cfg.cameras[0].zones[0].name == "entry"
    assert yaml.safe_load(path.read_text())["sinks"]["webhooks"][0]["secret"] == "s"
    with pytest.raises(UserError, match="not found"):
        save_zones(path, "nope", zones)
    path.write_text("cameras: [oops\n")  # broken by hand while the service runs
    with pytest.raises(UserError, match="no longer reads as YAML") as err:
        save_zones(path, "lobby", zones)
    assert "\n" not in str(err.value) and path.read_text() == "cameras: [oops\n"


COMMENTED = """\
# clinic cameras
cameras:
    - name: door   # front entrance
      source: "rtsp://user:pw@10.0.0.5/stream"
      zones:
          # drawn on the old camera
          - {name: old, polygon: [[0, 0], [1, 0], [1, 1]]}

    # the lobby has no zones yet
    - name: lobby
      source: 0   # USB webcam
sinks:
    log: true   # keep the log
"""


def test_saving_zones_keeps_the_rest_of_the_file_as_written(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(COMMENTED)
    path.chmod(0o640)
    door = (
        parse_config(
            "cameras: [{name: x, source: 0, zones: [{name: desk, polygon: [[0.1, 0.2], [0.9, 0.2], [0.5, 0.9]]}]}]"
        )
        .cameras[0]
        .zones
    )
    save_zones(path, "door", door)
    save_zones(path, "lobby", door)
    text = path.read_text()
    for line in COMMENTED.splitlines():
        if "old" not in line:  # only the replaced zones entry is gone
            assert line in text, line
    cfg = load_config(path)
    assert cfg.cameras[0].zones == door and cfg.cameras[1].zones == door
    assert text.index("USB webcam") < text.index("desk", text.index("lobby"))  # added after the camera's last key
    assert path.stat().st_mode & 0o777 == 0o640

    save_zones(path, "door", [])
    assert load_config(path).cameras[0].zones == [] and "# front entrance" in path.read_text()


def test_saving_zones_in_a_layout_it_cannot_edit_in_place_keeps_every_value(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cameras: [{name: door, source: 0}]  # flow style\nsinks: {log: false}\n")
    zones = (
        parse_config("cameras: [{name: x, source: 0, zones: [{name: z, polygon: [[0, 0], [1, 0], [1, 1]]}]}]")
        .cameras[0]
        .zones
    )
    save_zones(path, "door", zones)
    cfg = load_config(path)
    assert cfg.cameras[0].zones == zones and cfg.sinks.log is False
    # An anchor defined in the replaced zones and used elsewhere: the in-place edit would break it.
    path.write_text(
        "cameras:\n  - name: a\n    source: 0\n    zones: &z [{name: z, polygon: [[0, 0], [1, 0], [1, 1]]}]\n"
        "  - name: b\n    source: 1\n    zones: *z\n"
    )
    save_zones(path, "a", [])
    cfg = load_config(path)
    assert cfg.cameras[0].zones == [] and cfg.cameras[1].zones[0].name == "z"


def test_secrets_from_the_environment_stay_out_of_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MW_TEST_PASSWORD", "s3cret")
    monkeypatch.setenv("MW_TEST_PORT", "1884")
    monkeypatch.setenv("MW_TEST_TOKEN", "token-from-the-environment")
    rest = (
        "sinks:\n  mqtt: {host: localhost, port: '${MW_TEST_PORT}', password: '${MW_TEST_PASSWORD}'}\n"
        "ui:\n  token: ${MW_TEST_TOKEN}\n"
    )
    text = "cameras:\n  - name: door\n    source: rtsp://viewer:${MW_TEST_PASSWORD}@10.0.0.5/stream\n" + rest
    flow = "cameras: [{name: door, source: 'rtsp://viewer:${MW_TEST_PASSWORD}@10.0.0.5/stream'}]\n" + rest
    cfg = parse_config(text)
    assert cfg.cameras[0].source == "rtsp://viewer:s3cret@10.0.0.5/stream"
    assert (cfg.sinks.mqtt.port, cfg.sinks.mqtt.password, cfg.ui.token) == (
        1884,
        "s3cret",
        "token-from-the-environment",
    )
    # zones saved from the UI leave the references as they were, in place or in a whole-file rewrite
    for layout in (text, flow):
        path = tmp_path / "c.yaml"
        path.write_text(layout)
        save_zones(path, "door", [])
        saved = path.read_text()
        assert "${MW_TEST_PASSWORD}" in saved and "${MW_TEST_TOKEN}" in saved and "s3cret" not in saved
    monkeypatch.delenv("MW_TEST_TOKEN")
    assert error_of(text) == "cfg.yaml:7: ui.token: environment variable MW_TEST_TOKEN is not set"


def test_config_check_cli(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    ok = run_cli("config", "check", str(good))
    assert ok.returncode == 0 and "OK: 2 camera(s) (door, lobby), 1 zone(s)" in ok.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("fps: 4", "fps: fast"))
    for args in (("config", "check", str(bad)), ("serve", "--config", str(bad))):
        result = run_cli(*args)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert lines == [
            f"error: {bad}:4: cameras[0].fps: Input should be a valid number, unable to parse string as a number"
        ]
        assert "Traceback" not in result.stderr + result.stdout

    missing = run_cli("config", "check", str(tmp_path / "nope.yaml"))
    assert (
        missing.returncode == 2 and missing.stderr.strip() == f"error: config file not found: {tmp_path / 'nope.yaml'}"
    )


def test_serve_refuses_a_busy_port_and_an_unusable_database_in_one_line(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = tmp_path / "c.yaml"
        cfg.write_text(f"cameras: [{{name: a, source: 0}}]\nui: {{port: {port}}}\n")
        result = run_cli("serve", "--config", str(cfg))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port} for the web UI")

    (tmp_path / "file").write_text("")
    cfg.write_text("cameras: [{name: a, source: 0}]\nstorage: {database: file/events.db}\n")
    result = run_cli("serve", "--config", str(cfg), "--no-ui")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: cannot open the event database {tmp_path / 'file/events.db'}")
    )
