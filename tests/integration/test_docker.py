"""The container image, built from the Dockerfile and run with examples/docker's compose file as a site would: the
service runs as uid 1000 with a mounted config and a data volume, turns healthy, alerts, keeps zone edits in the
mounted config, stops cleanly on `docker stop`, and refuses a config it cannot use with one line.

Slow (it builds the image: minutes), so `make test` leaves it out; `make test-docker` runs it. It is skipped where no
Docker engine answers. MASKWATCH_DOCKER_BASE names the base image where Docker Hub is out of reach
(scripts/debian-base-image.sh makes one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from functools import partial
from pathlib import Path

import pytest
import yaml

from helpers_service.servers import free_port, wait_for
from maskwatch.core.paths import REPO_ROOT

pytestmark = pytest.mark.slow

IMAGE = "maskwatch:test"


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("docker") is None or _docker("info").returncode != 0:
        pytest.skip("no Docker engine answers (`docker info`)")
    base = os.environ.get("MASKWATCH_DOCKER_BASE", "debian:bookworm-slim")
    build = _docker(
        "build", "--network", "host", "--build-arg", f"BASE={base}", "-t", IMAGE, str(REPO_ROOT), timeout=1800
    )
    assert build.returncode == 0, build.stderr[-3000:]
    return IMAGE


def _compose_command() -> list[str]:
    for command in (["docker", "compose"], ["docker-compose"]):
        if (
            shutil.which(command[0])
            and subprocess.run([*command, "version"], capture_output=True, check=False).returncode == 0
        ):
            return command
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def _health(container: str) -> str:
    return _docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()


def _get(url: str, token: str):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _compose_site(site: Path, image: str, clip: Path, port: int) -> Path:
    """examples/docker copied to `site` with the clip as its camera, the image under test and the UI on `port`."""
    shutil.copytree(REPO_ROOT / "examples" / "docker", site)
    config_dir = site / "config"
    config_dir.chmod(0o777)  # docs/install.md: chown 1000 config (the UI saves zones there)
    shutil.copy(clip, config_dir / "clip.mp4")
    config = config_dir / "maskwatch.yaml"
    cfg = yaml.safe_load(config.read_text())
    cfg["cameras"] = [{"name": "cam", "source": "/config/clip.mp4", "fps": 5}]
    cfg["rules"].update(min_seconds=0.3, cooldown_seconds=0.5)
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    compose_file = site / "compose.yaml"
    text = compose_file.read_text().replace("image: maskwatch:latest", f"image: {image}")
    compose_file.write_text(text.replace('"8080:8080"', f'"127.0.0.1:{port}:8080"'))
    return site


def test_the_compose_example_runs_the_service_and_keeps_its_data(image, tmp_path, test_clip):
    """examples/docker set up as docs/install.md says, the camera being the test clip in the config folder."""
    compose = _compose_command()
    port, token = free_port(), "docker-test-token-0123"
    site = _compose_site(tmp_path / "maskwatch", image, test_clip, port)
    config, compose_file = site / "config" / "maskwatch.yaml", site / "compose.yaml"
    project = [*compose, "--project-directory", str(site), "-f", str(compose_file), "-p", f"mwtest{port}"]
    env = {k: v for k, v in os.environ.items() if k not in ("MASKWATCH_TOKEN", "CAMERA_PASSWORD")}  # .env's alone

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*project, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)

    refused = run("up", "-d")  # no .env yet
    assert refused.returncode != 0 and "set MASKWATCH_TOKEN in .env" in refused.stderr, refused.stderr
    (site / ".env").write_text(f"MASKWATCH_TOKEN={token}\n")
    up = run("up", "-d", timeout=300)
    assert up.returncode == 0, up.stderr
    container = run("ps", "-q", "maskwatch").stdout.strip()
    try:
        health = partial(_health, container)
        # the image's HEALTHCHECK (30 s apart) reads the port and scheme from the mounted config
        assert wait_for(lambda: health() in ("healthy", "unhealthy"), 120, interval=2) and health() == "healthy", (
            _docker("logs", container).stderr[-2000:]
        )
        base = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _get(f"{base}/api/events", token), 40, interval=0.5), "no events within 40 s"

        zones = [{"name": "door", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "restricted": True}]
        request = urllib.request.Request(
            f"{base}/api/cameras/cam/zones",
            data=json.dumps(zones).encode(),
            method="PUT",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        saved = config.read_text()  # written into the mounted file, the secret's reference kept
        assert "name: door" in saved and "${MASKWATCH_TOKEN}" in saved and token not in saved
        events = _get(f"{base}/api/events", token)
        owners = _docker(
            "exec",
            container,
            "stat",
            "-c",
            "%u %n",
            "/data/events.db",
            *(f"/data/snapshots/{e['snapshot']}" for e in events if e["snapshot"]),
        ).stdout.split("\n")
        stopped = _docker("stop", "--time", "15", container)  # what `docker compose down` does first
        logs = _docker("logs", container)
        code = _docker("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
    finally:
        run("down", "-v")
    assert stopped.returncode == 0 and code == "0", logs.stderr[-2000:]
    out = logs.stdout + logs.stderr
    assert "maskwatch: stopped" in out and "Traceback" not in out and token not in out
    owners = [line for line in owners if line]
    assert len(owners) > 1 and all(line.startswith("1000 ") for line in owners), owners  # never root


def test_a_config_the_container_cannot_use_is_one_line_and_status_2(image, tmp_path):
    (tmp_path / "maskwatch.yaml").write_text(
        'cameras: [{name: cam, source: rtsp://cam/1}]\nui: {token: "${MW_TOKEN}"}\n'
    )
    tmp_path.chmod(0o755)
    unset = _docker("run", "--rm", "-v", f"{tmp_path}:/config", image)
    assert unset.returncode == 2 and unset.stderr.strip().count("\n") == 0, unset.stderr
    assert "ui.token: environment variable MW_TOKEN is not set" in unset.stderr


def test_the_shipped_container_config_is_valid(image):
    check = _docker(
        "run",
        "--rm",
        "-e",
        "MASKWATCH_TOKEN=a-long-random-token",
        "-e",
        "CAMERA_PASSWORD=secret",
        image,
        "config",
        "check",
        "/config/maskwatch.yaml",
    )
    assert check.returncode == 0 and "/config/maskwatch.yaml: OK: 1 camera(s) (entrance)" in check.stdout, check.stderr
