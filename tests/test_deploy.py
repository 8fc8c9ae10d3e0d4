"""The shipped systemd unit: systemd accepts it, and what it assumes of `maskwatch serve` holds."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maskwatch.paths import REPO_ROOT

UNIT = REPO_ROOT / "examples" / "maskwatch.service"


def _settings(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_systemd_unit_verifies_and_matches_the_service(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not found (Debian package 'systemd')")
    text = UNIT.read_text()
    settings = _settings(text)
    binary, *args = shlex.split(settings["ExecStart"])
    assert binary == "/opt/maskwatch/bin/maskwatch" and args[:2] == ["serve", "--config"]
    # systemd's own check, with the binary where this test's maskwatch is (it must exist and be executable)
    local = tmp_path / "maskwatch.service"
    local.write_text(text.replace(binary, str(Path(sys.executable).with_name("maskwatch"))))
    verify = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr  # unknown keys and bad values only warn
    # a bad config exits with a status the unit does not restart on; a clean stop fits in TimeoutStopSec
    bad = tmp_path / "maskwatch.yaml"
    bad.write_text("cameras: [{name: door, source: 0, fps: fast}]\n")
    result = subprocess.run([sys.executable, "-m", "maskwatch", *args[:-1], str(bad)], capture_output=True, text=True,
                            timeout=60)
    assert str(result.returncode) in settings["RestartPreventExitStatus"].split(), result.stderr
    assert int(settings["TimeoutStopSec"]) > 5  # test_service_faults: SIGTERM stops serve within 5 s
