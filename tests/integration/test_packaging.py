"""An installed wheel (not the editable checkout) carries the shipped models and the web UI, and runs."""

from __future__ import annotations

import shutil
import subprocess
import sys

from maskwatch.core.paths import REPO_ROOT

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
faces = pipeline.analyze(np.full((240, 320, 3), 128, np.uint8))
print(len(faces), classifier.predict([np.zeros((112, 112, 3), np.uint8)]).shape)
"""


def test_wheel_carries_the_models(tmp_path):
    src = tmp_path / "src"  # a copy of what the wheel is built from, so that the build leaves no build/ in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    shutil.copytree(
        REPO_ROOT / "src", src / "src", symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    shutil.copytree(REPO_ROOT / "models", src / "models", ignore=shutil.ignore_patterns("*_int8.onnx"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(src),
            "-w",
            str(tmp_path / "wheel"),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "wheel").glob("maskwatch-*.whl")
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True
    )
    run = subprocess.run(
        [sys.executable, "-c", f"TARGET = {str(target)!r}\n" + CHECK],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "(1,", "3)"]
    # away from a checkout `serve` has no demo clip to make, and says what to do instead
    serve = subprocess.run(
        [sys.executable, "-c", "from maskwatch.cli import main; main()", "serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert serve.returncode != 0 and serve.stderr.count("\n") == 1 and "run with --config FILE" in serve.stderr, (
        serve.stderr
    )


BLOCK_EXTRAS = """
import importlib.abc, sys
from maskwatch.cli import EXTRAS, main

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in EXTRAS:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NotInstalled())
sys.argv[0] = "maskwatch"
main()
"""


def test_core_commands_need_no_extra_and_the_others_say_which(tmp_path):
    """As after `pip install maskwatch` alone: none of torch, onnx, matplotlib, the service's or Ray's packages."""
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "wall.jpg"), np.full((240, 320, 3), 128, np.uint8))
    (tmp_path / "c.yaml").write_text("cameras: [{name: door, source: 0}]\n")

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-c", BLOCK_EXTRAS, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    for args in (["predict", "wall.jpg", "-o", "p.json"], ["config", "check", "c.yaml"]):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
    for args, extra in (
        (["serve", "--config", "c.yaml"], "serve"),
        (["train", "crops"], "train"),
        (["optimize", "quantize", "classifier"], "optimize"),
    ):
        result = cli(*args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert f"pip install 'maskwatch[{extra}]'" in result.stderr, result.stderr
