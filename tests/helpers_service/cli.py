"""The maskwatch command run as a user runs it (a subprocess), and what its refusals must look like."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args, cwd=None, env=None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maskwatch", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    """A refusal: exit status 2, no traceback, one line on stderr starting "error: " and holding every word."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]
