"""The shipped systemd unit: systemd accepts it, and what it assumes of `maskwatch serve` holds."""

from __future__ import annotations

import shlex
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from helpers_service.cli import run_cli
from maskwatch.core.paths import REPO_ROOT

UNIT = REPO_ROOT / "examples" / "maskwatch.service"


def _settings(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_systemd_unit_verifies_and_matches_the_service(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not found: systemd is not installed here (make test does not install it)")
    text = UNIT.read_text()
    settings = _settings(text)
    binary, *args = shlex.split(settings["ExecStart"])
    assert binary == "/opt/maskwatch/bin/maskwatch" and args[:2] == ["serve", "--config"]
    # systemd's own check, with the binary where this test's maskwatch is (it must exist and be executable)
    local = tmp_path / "maskwatch.service"
    local.write_text(text.replace(binary, str(Path(sys.executable).with_name("maskwatch"))))
    verify = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True, check=False)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr  # unknown keys and bad values only warn
    # a bad config exits with a status the unit does not restart on; a clean stop fits in TimeoutStopSec
    bad = tmp_path / "maskwatch.yaml"
    bad.write_text("cameras: [{name: door, source: 0, fps: fast}]\n")
    result = run_cli(*args[:-1], str(bad))
    assert str(result.returncode) in settings["RestartPreventExitStatus"].split(), result.stderr
    assert int(settings["TimeoutStopSec"]) > 5  # test_service_faults: SIGTERM stops serve within 5 s


def _ui_config(folder: Path, port: int, **ui) -> Path:
    import yaml

    path = folder / "maskwatch.yaml"
    config = {
        "cameras": [{"name": "cam", "source": "missing.mp4"}],
        "ui": {"port": port, "token": "https-test-token-0123", **ui},
        "storage": {"database": "data/events.db", "snapshots": "data/snaps"},
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def certificates(tmp_path):
    """tmp_path/ui.pem + ui.key and tmp_path/other.pem + other.key, self-signed."""
    from helpers_service.requires import require
    from helpers_service.servers import self_signed

    require(shutil.which("openssl") is not None, "openssl", "Debian package 'openssl'")
    self_signed(tmp_path, "other")
    return self_signed(tmp_path, "ui")[0]


def test_bad_tls_settings_and_a_ui_turned_off_are_one_line_errors(tmp_path, certificates):
    # a key that does not match the certificate, or half a pair: one line, exit status 2
    bad = run_cli("serve", "--config", str(_ui_config(tmp_path, 8971, tls_cert="ui.pem", tls_key="other.key")))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "cannot use" in bad.stderr, bad.stderr
    half = run_cli("config", "check", str(_ui_config(tmp_path, 8971, tls_cert="ui.pem")))
    assert half.returncode == 2 and "set both tls_cert and tls_key" in half.stderr
    off = run_cli("health", "--config", str(_ui_config(tmp_path, 8971, enabled=False)), timeout=30)
    assert off.returncode == 2 and "ui.enabled is false" in off.stderr


def test_ui_over_https_with_the_configured_certificate(tmp_path, certificates):
    import httpx

    from helpers_service.servers import free_port, port_open, wait_for

    port = free_port()
    running = _ui_config(tmp_path, port, tls_cert="ui.pem", tls_key="ui.key")  # relative to the config's folder
    proc = subprocess.Popen(
        [sys.executable, "-m", "maskwatch", "serve", "--config", str(running)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_for(lambda: port_open(port) or proc.poll() is not None, 30) and proc.poll() is None, (
            proc.stdout.read()
        )
        base = f"https://127.0.0.1:{port}"
        trust = ssl.create_default_context(cafile=str(certificates))  # the server's certificate is checked
        with httpx.Client(base_url=base, verify=trust, timeout=10) as client:
            assert client.get("/healthz").json()["status"] == "ok"
            assert client.get("/api/cameras").status_code == 401
            login = client.post("/login", data={"token": "https-test-token-0123", "next": "/"})
            assert "Secure" in login.headers["set-cookie"] and "HttpOnly" in login.headers["set-cookie"]
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served on that port
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        up = run_cli("health", "--config", str(running), timeout=30)  # what a container's HEALTHCHECK runs
        assert up.returncode == 0 and up.stdout.startswith(f"healthy: {base}/healthz says"), up.stderr
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    down = run_cli("health", "--config", str(running), timeout=30)
    assert down.returncode == 1 and down.stderr.startswith("unhealthy: no answer") and down.stderr.count("\n") == 1
    assert f"web UI at {base}/ (access token: ui.token in the config)" in out and "https-test-token-0123" not in out
