PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test train clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

run: install
	$(BIN)/maskwatch detect examples/demo.jpg --out out/demo_annotated.jpg

test: install-test
	$(BIN)/python -m pytest -q

train: $(BIN)/python
	$(BIN)/pip install -q -e '.[train,plots]'
	$(BIN)/maskwatch data build ../shared/data --out build/crops
	$(BIN)/maskwatch train build/crops --out runs/shipped --seed 0
	cp runs/shipped/model.onnx models/mask_classifier.onnx

clean:
	rm -rf $(VENV) build runs out
