"""An installed wheel (not the editable checkout) carries the shipped models and the web UI, and runs."""

from __future__ import annotations

import shutil
import subprocess
import sys

from maskwatch.paths import REPO_ROOT

CHECK = """
import pathlib, numpy as np, maskwatch
from maskwatch.classify import MaskClassifier
from maskwatch.pipeline import MaskPipeline
root = pathlib.Path(maskwatch.__file__).parent
assert str(root).startswith(TARGET), root
assert (root / "web" / "static" / "index.html").is_file()
pipeline = MaskPipeline.from_defaults(input_size=320)
classifier = MaskClassifier()
assert str(classifier.model_path).startswith(TARGET), classifier.model_path
print(len(pipeline.analyze(np.full((240, 320, 3), 128, np.uint8))), classifier.predict([np.zeros((112, 112, 3), np.uint8)]).shape)
"""


def test_wheel_carries_the_models(tmp_path):
    src = tmp_path / "src"  # a copy of what the wheel is built from, so that the build leaves no build/ in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "src", src / "src", symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO_ROOT / "models", src / "models", ignore=shutil.ignore_patterns("*_int8.onnx"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src),
                    "-w", str(tmp_path / "wheel")], check=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "wheel").glob("maskwatch-*.whl")
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True)
    run = subprocess.run([sys.executable, "-c", f"TARGET = {str(target)!r}\n" + CHECK], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "(1,", "3)"]
    # away from a checkout `serve` has no demo clip to make, and says what to do instead
    serve = subprocess.run([sys.executable, "-c", "from maskwatch.cli import main; main()", "serve"], capture_output=True,
                           text=True, cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert serve.returncode != 0 and serve.stderr.count("\n") == 1 and "run with --config FILE" in serve.stderr, serve.stderr
