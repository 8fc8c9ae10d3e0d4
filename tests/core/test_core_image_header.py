"""Image sizes from headers, and decompression bombs refused before decoding (issue 18, finding 5)."""

from __future__ import annotations

import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest

from helpers_service.bombs import flat_jpeg, png_bomb
from maskwatch.core.errors import UserError
from maskwatch.core.image_header import MAX_IMAGE_PIXELS, image_size, jpeg_size
from maskwatch.core.media import read_image


@pytest.mark.parametrize("ext", [".jpg", ".png", ".bmp", ".webp", ".tiff"])
def test_sizes_of_the_formats_opencv_writes(ext):
    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), np.uint8)
    data = cv2.imencode(ext, image)[1].tobytes()
    assert image_size(data) == (53, 37)
    if ext == ".webp":  # lossless too
        assert image_size(cv2.imencode(ext, image, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()) == (53, 37)


def test_sizes_of_gif_progressive_jpeg_and_what_is_not_an_image():
    assert image_size(b"GIF89a" + struct.pack("<HH", 640, 480) + b"\0" * 10) == (640, 480)
    progressive = cv2.imencode(".jpg", np.zeros((20, 30, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1]
    assert jpeg_size(progressive.tobytes()) == (30, 20)
    assert image_size(b"not an image at all") is None and jpeg_size(b"\xff\xd8\xff\xe0\x00") is None  # cut short
    assert image_size(flat_jpeg(16000, 16000)) == (16000, 16000)


def test_a_flat_jpeg_is_a_real_image():
    image = cv2.imdecode(np.frombuffer(flat_jpeg(64, 40), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (40, 64, 3) and int(image.mean()) == 128


def test_read_image_refuses_a_png_bomb_from_its_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb())
    assert bomb.stat().st_size < 60_000 and image_size(bomb.read_bytes()) == (20000, 20000)
    assert MAX_IMAGE_PIXELS < 20000 * 20000
    with pytest.raises(UserError, match=r"bomb.png: 20000x20000 pixels is more than the 179 megapixels"):
        read_image(bomb)
    small = tmp_path / "small.png"
    small.write_bytes(png_bomb(300, 200))  # the same kind of file, of a sane size, reads
    assert read_image(small).shape == (200, 300, 3)


PEAK_RSS = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "maskwatch", *sys.argv[1:]], capture_output=True, text=True)
sys.stderr.write(done.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
sys.exit(done.returncode)
"""


@pytest.mark.parametrize("command", ["predict", "detect"])
def test_predict_and_detect_refuse_a_png_bomb_in_one_line_and_little_memory(command, tmp_path, classifier_model):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb())
    out = tmp_path / ("preds.json" if command == "predict" else "drawn.png")
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, command, str(bomb), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if "20000x20000" in line]
    assert len(said) == 1 and "decompression bomb" in said[0], done.stderr
    peak_mb = int(done.stdout.split()[-1])
    assert peak_mb < 1000, f"{command} took {peak_mb} MB: the 1.2 GB image was decoded"
