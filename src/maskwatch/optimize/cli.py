"""`maskwatch optimize quantize classifier|detector`: static INT8 copies of the shipped models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maskwatch.core.errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Make the models faster: static INT8 quantisation.")

KINDS = ("classifier", "detector")


@app.callback()
def optimize() -> None:
    """Make the models faster: static INT8 quantisation."""  # keeps `quantize` a sub-command


@app.command()
def quantize(
    kind: Annotated[str, typer.Argument(help="classifier | detector", show_default=False)],
    crops: Annotated[
        Path, typer.Option(help="Crop dataset (manifest.csv): calibration crops, or the photos they came from.")
    ] = Path("build/crops"),
    model: Annotated[Path | None, typer.Option(help="FP32 ONNX to quantise (default: the shipped model).")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="INT8 ONNX to write (default: build/int8/<model>_int8_<format>.onnx)."),
    ] = None,
    quant_format: Annotated[str, typer.Option("--format", help="qdq | qoperator")] = "qdq",
    calib: Annotated[
        int, typer.Option(help="Calibration crops (classifier) or photos (detector) from the train split.")
    ] = 0,
    sizes: Annotated[str, typer.Option(help="Detector input sizes to calibrate at (comma-separated).")] = "416,1024",
    seed: Annotated[int, typer.Option(help="Seed of the calibration draw.")] = 0,
    method: Annotated[
        str, typer.Option(help="Calibration: minmax | percentile | entropy (classifier only).")
    ] = "minmax",
) -> None:
    """Write an INT8 copy of the classifier or the face detector, calibrated on the crop set's train split."""
    try:
        from maskwatch.optimize import FORMATS, quantize_classifier, quantize_detector, sample_crops, sample_photos
    except ImportError as err:  # onnx (and onnxruntime.quantization with it) is an optional dependency
        raise UserError(f"quantisation needs the onnx package ({err}): pip install 'maskwatch[optimize]'") from None

    if kind not in KINDS:
        raise UserError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if quant_format.lower() not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {quant_format!r}")
    if calib < 0:
        raise UserError(f"--calib must be positive, got {calib}")
    if kind == "classifier":
        from maskwatch.classify.classifier import DEFAULT_MODEL
    else:
        from maskwatch.detect.retinaface import DEFAULT_MODEL
    model = model or DEFAULT_MODEL
    if not model.is_file():
        raise UserError(f"model not found: {model}")
    out = out or Path("build/int8") / f"{model.stem}_int8_{quant_format.lower()}.onnx"
    if kind == "classifier":
        written = quantize_classifier(
            model, out, sample_crops(crops, calib or 300, "train", seed), quant_format, method=method
        )
    else:
        try:
            input_sizes = tuple(int(s) for s in sizes.split(",") if s.strip())
        except ValueError:
            raise UserError(f"--sizes must be comma-separated integers, got {sizes!r}") from None
        if not input_sizes or min(input_sizes) < 32:
            raise UserError(f"--sizes must list detector sizes of at least 32, got {sizes!r}")
        written = quantize_detector(
            model, out, sample_photos(crops, calib or 40, "train", seed), input_sizes, quant_format, method=method
        )
    typer.echo(str(written))
