"""The `maskwatch` command line: a thin layer over the library."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from maskwatch.cases.cli import app as cases_app
from maskwatch.core.errors import UserError
from maskwatch.data.cli import app as data_app
from maskwatch.evaluate.cli import Detector
from maskwatch.evaluate.cli import app as evaluate_app
from maskwatch.modelops.cli import app as models_app
from maskwatch.optimize.cli import app as optimize_app
from maskwatch.service.cli import config_app, health, serve
from maskwatch.train.cli import train_command
from maskwatch.train.detector.cli import train_detector_command

if TYPE_CHECKING:
    from typer._click.core import Context

    from maskwatch.pipeline import MaskPipeline
    from maskwatch.pipeline.files import BatchResult

# --help lists the commands by how often people use them, not by when they were registered
USE_ORDER = (
    "serve",
    "predict",
    "detect",
    "probe",
    "classify",
    "config",
    "health",
    "evaluate",
    "data",
    "train",
    "models",
    "calibrate-boxes",
    "calibrate-operating-point",
    "optimize",
)


class ByUse(typer.core.TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        known = [name for name in USE_ORDER if name in self.commands]
        return known + [name for name in self.commands if name not in USE_ORDER]


app = typer.Typer(
    cls=ByUse,
    add_completion=False,
    no_args_is_help=True,
    help="Face-mask compliance from images, videos and camera feeds.",
)

app.add_typer(data_app, name="data", help="Import, clean and crop face-mask datasets; data report.")
app.add_typer(evaluate_app, name="evaluate", help="Score the classifier, the pipeline, or detect --json output.")
app.command("train", help="Train the mask classifier on a crop dataset and export it to ONNX.")(train_command)
app.command("train-detector", help="Fine-tune the face detector on annotated face boxes and export it to ONNX.")(
    train_detector_command
)
app.add_typer(models_app, name="models", help="Compare classifiers; promote one to the running service, roll back.")
app.add_typer(optimize_app, name="optimize", help="INT8 quantisation of the models, with the accuracy cost measured.")
app.command("serve", help="Run the live service: cameras → faces → zone rules → events, alerts and the web UI.")(serve)
app.command("health", help="Ask a running service whether it is healthy (exit 0) or not (exit 1).")(health)
app.add_typer(config_app, name="config", help="Validate a service config file.")
app.add_typer(cases_app, name="cases", help="Hard cases the service kept (collect:): list, export for training, purge.")

# optional packages (pyproject's extras) that only some commands import, and the extra that brings each
EXTRAS = {
    "torch": "train",
    "onnx": "optimize",
    "matplotlib": "plots",
    "supervision": "serve",
    "fastapi": "serve",
    "fastapi_offline": "serve",
    "uvicorn": "serve",
    "paho": "serve",
    "prometheus_client": "serve",
    "av": "serve",
    "ray": "scale",
    "apprise": "serve",
}

Inputs = Annotated[list[Path], typer.Argument(help="Images or folders of images.", show_default=False)]
Output = Annotated[Path, typer.Option("-o", "--out", help="Where to write the JSON; - for the standard output.")]


def _pipeline(
    mode: str, input_size: int | None, min_score: float, classifier: Path | None, detector: str | None = None
) -> MaskPipeline:
    from maskwatch.pipeline import MODES, MaskPipeline

    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    chosen = MODES[mode]
    return MaskPipeline.from_defaults(
        input_size=input_size or chosen.input_size,
        min_score=max(min_score, chosen.face_min_score),
        classifier_path=chosen.classifier(classifier),
        detector=detector,
    )


def _finish(batch: BatchResult, out: Path, summary: Callable[[], None]) -> None:
    """Writes the JSON (none when nothing could be processed), then says what was skipped and `summary()`."""
    from maskwatch.pipeline.report import write_json

    if not batch.results and len(batch.skipped) == 1:  # one reason: said once, as the error
        raise UserError(f"nothing could be processed: {batch.skipped[0]}")
    for message in batch.skipped:
        typer.echo(f"skipped: {message}", err=True)
    if not batch.results:
        raise UserError("nothing could be processed")
    write_json(batch.results, out)
    summary()
    where = "" if str(out) == "-" else f"wrote {out}: "
    typer.echo(f"{where}{len(batch.results)} image(s), {len(batch.skipped)} skipped", err=True)


@app.command()
def predict(
    inputs: Inputs,
    out: Output = Path("preds.json"),
    min_score: Annotated[float, typer.Option(help="Lowest score written (low enough for AP).")] = 0.05,
    mode: Annotated[
        str,
        typer.Option(
            help="accurate (detector scales and tiles chosen per image: faces from ~10 px to the whole frame) "
            "or fast (one pass at 320 px, faces >= 0.4, the light classifier)."
        ),
    ] = "accurate",
    input_size: Annotated[
        int | None, typer.Option(help="One detector pass at this input long side (overrides the mode's).", min=32)
    ] = None,
    classifier: Annotated[Path | None, typer.Option(help="Classifier ONNX (default: the shipped model).")] = None,
    detector: Detector = None,
) -> None:
    """Faces with mask labels for images → {file: [{box, label, score}]}."""
    from maskwatch.pipeline.files import predict_images
    from maskwatch.pipeline.report import OPERATING_SCORE, check_json_output, label_table, predicted_counts

    check_json_output(out)
    batch = predict_images(inputs, _pipeline(mode, input_size, min_score, classifier, detector), min_score)
    bar = max(OPERATING_SCORE, min_score)
    _finish(
        batch, out, lambda: label_table(predicted_counts(batch.results, bar), f"faces of score >= {bar:g}, by label")
    )


@app.command()
def classify(
    inputs: Inputs,
    out: Output = Path("classes.json"),
    classifier: Annotated[Path | None, typer.Option(help="Classifier ONNX (default: the shipped model).")] = None,
    find_face: Annotated[
        bool, typer.Option(help="Also score each crop re-cut around the face found in it, and average.")
    ] = True,
) -> None:
    """Face crops → {file: {label, scores}}."""
    from maskwatch.classify.given import GivenCropClassifier
    from maskwatch.pipeline.files import classify_crops
    from maskwatch.pipeline.report import check_json_output, classified_counts, label_table

    check_json_output(out)
    batch = classify_crops(inputs, GivenCropClassifier.from_model(classifier, find_face))
    _finish(batch, out, lambda: label_table(classified_counts(batch.results), "crops by label", "crops"))


@app.command()
def detect(
    input: Annotated[Path, typer.Argument(help="An image or a video file.")],  # noqa: A002 (typer shows it as INPUT)
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Annotated image or video to write (optional with --json).")
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Videos: run it through the live service's camera analysis at the camera's fps and write what the "
            "live view shows on each analysed frame, {<stem>_f<frame>: [{box, label, score}]} (- for stdout).",
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="With --json: the service config whose camera to use.")] = None,
    camera: Annotated[str | None, typer.Option(help="With --json: the camera of --config to use.")] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="accurate (the default: detector scales and tiles chosen per image) or fast (one pass at 320 px); "
            "not with --json."
        ),
    ] = None,
    input_size: Annotated[
        int | None, typer.Option(help="One detector pass at this input long side (overrides the mode's).", min=32)
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(
            help="Lowest score drawn, 0.5 by default (face confidence x label probability, as predict's score); "
            "not with --json, which keeps what the live view shows."
        ),
    ] = None,
    classifier: Annotated[Path | None, typer.Option(help="Classifier ONNX.")] = None,
    detector: Detector = None,
) -> None:
    """Draw boxes and mask labels onto an image or a video (image in, image out; video in, video out), or with
    --json run a video through the live camera analysis."""
    from maskwatch.pipeline.report import check_detect_paths, label_table

    if json_out is not None:
        if mode is not None or min_score is not None:
            raise UserError("--mode and --min-score are for -o alone: --json analyses as the live service does")
        _detect_json(input, json_out, out, config, camera, input_size, classifier, detector)
        return
    if out is None:
        raise UserError("give -o OUT (an annotated image or video) or --json OUT.json (videos)")
    if config is not None or camera is not None:
        raise UserError("--config and --camera go with --json")
    from maskwatch.pipeline.files import detect_file

    min_score = 0.5 if min_score is None else min_score
    check_detect_paths(input, out)
    summary = detect_file(
        input, out, _pipeline(mode or "accurate", input_size, min_score, classifier, detector), min_score
    )
    frames = summary["frames"]
    unit = "faces" if frames == 1 else "faces (all frames)"
    label_table(summary["labels"], f"wrote {out}: {frames} frame(s), faces of score >= {min_score:g}", unit)


def _detect_json(
    src: Path,
    json_out: Path,
    video_out: Path | None,
    config: Path | None,
    camera: str | None,
    input_size: int | None,
    classifier: Path | None,
    detector: str | None,
) -> None:
    from maskwatch.analysis.video_file import detect_video_json
    from maskwatch.pipeline.report import label_table

    done = detect_video_json(src, json_out, video_out, config, camera, input_size, classifier, detector)
    also = f" and {video_out}" if video_out is not None else ""
    where = "the standard output" if str(json_out) == "-" else str(json_out)
    label_table(
        done.labels(),
        f"wrote {where}{also}: {len(done.results)} of {done.frames_read} frame(s) analysed "
        f"({done.analysis_fps:g} fps of a {done.video_fps:g} fps video), faces the live view shows",
        "faces (analysed frames)",
    )


@app.command()
def probe(
    source: Annotated[
        str, typer.Argument(help="As cameras[].source: a file, rtsp:// or http(s):// URL, webcam index.")
    ],
    seconds: Annotated[float, typer.Option(help="How long to read it.", min=0.1)] = 3.0,
    input_size: Annotated[
        int, typer.Option(help="Detector input long side, as detector.input_size.", min=128, max=2048)
    ] = 640,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the last frame, faces hidden and labelled.")
    ] = None,
    face_sizes: Annotated[
        bool,
        typer.Option(
            help="Measure the face sizes in 5 frames spread over the read (multi-scale detector) and say whether "
            "the detector input sees them."
        ),
    ] = True,
) -> None:
    """Check a camera before it goes into the config: does it open, what does it deliver, what face sizes does it
    show and which detector setting they need."""
    from maskwatch.config import CameraConfig
    from maskwatch.core.draw import draw_detections
    from maskwatch.pipeline import MaskPipeline
    from maskwatch.privacy import blur_faces
    from maskwatch.sources.probe import probe_source

    kind = CameraConfig(name="probe", source=source).kind
    if kind == "file" and not Path(source).is_file():
        raise UserError(f"not a file: {source}" if Path(source).exists() else f"no such file: {source}")
    pipeline = MaskPipeline.from_defaults(input_size=input_size)
    sizes = MaskPipeline.from_defaults() if face_sizes else None
    report = probe_source(int(source) if source.isdigit() else source, kind, pipeline, seconds, size_pipeline=sizes)
    for line in report.lines():
        typer.echo(line)
    if out is not None:
        import cv2

        image = draw_detections(blur_faces(report.last_frame, report.faces.xyxy), report.faces, copy=False)
        if not cv2.imwrite(str(out), image):
            raise UserError(f"cannot write {out} (the name must end in .jpg or .png, in a folder that exists)")
        typer.echo(f"wrote {out} (faces hidden)")


@app.command("calibrate-boxes")
def calibrate_boxes(
    folders: Annotated[list[Path], typer.Argument(help="VOC folders of real photos.")],
    manifest: Annotated[Path, typer.Option(help="Dataset manifest: only its train images are used.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Default: the detector's calibration file (models/box_calibration.json)."),
    ] = None,
    detector: Detector = None,
) -> None:
    """Fit the shift from detector boxes to the annotation convention on the training split."""
    from maskwatch.detect.models import resolve_detector
    from maskwatch.train.box_calibration import fit_boxes

    model = resolve_detector(detector)
    out = out or model.calibration
    cal = fit_boxes(folders, manifest, model_path=model.path)
    cal.save(out, fitted_on=[str(f) for f in folders], split="train", manifest=str(manifest), detector=model.name)
    typer.echo(
        f"wrote {out}: offsets x1 y1 x2 y2 = {[round(v, 3) for v in cal.offsets]} from {cal.pairs} matched faces"
    )


@app.command("calibrate-operating-point")
def calibrate_operating_point(
    folders: Annotated[list[Path], typer.Argument(help="VOC folders of real photos.")],
    manifest: Annotated[Path, typer.Option(help="Dataset manifest: only its val images are used.")],
    out: Annotated[Path, typer.Option("--out", "-o")] = Path("models/operating_point.json"),
    detector: Detector = None,
) -> None:
    """Choose the shift toward the unmasked labels that clears the recall and false-alarm bars by the widest margin."""
    import json

    from maskwatch.train.operating_point import (
        MAX_MASKED_FALSE_ALARM,
        TARGET_UNMASKED_RECALL,
        choose_bias,
        sweep_biases,
    )

    table = sweep_biases(folders, manifest, detector=detector)
    bias = choose_bias(table)
    out.write_text(
        json.dumps(
            {
                "unmasked_bias": bias,
                "why": (
                    "Log-odds added to no_mask and incorrect before the label is chosen: the shift at which every "
                    f"validation photo set clears both bars, >= {TARGET_UNMASKED_RECALL:.0%} of unmasked faces flagged "
                    f"(score >= 0.5) and < {MAX_MASKED_FALSE_ALARM:.0%} of masked faces wrongly flagged, by the most "
                    "standard errors, or where none does misses them by the least "
                    "(maskwatch calibrate-operating-point)."
                ),
                "manifest": str(manifest),
                "split": "val",
                "measured": {name: {str(b): v for b, v in rows.items()} for name, rows in table.items()},
            },
            indent=1,
        )
    )
    for name, rows in table.items():
        typer.echo(
            f"{name}: "
            + ", ".join(f"{b}: {v['unmasked_recall']:.1%}/{v['masked_false_alarm']:.1%}" for b, v in rows.items())
        )
    typer.echo(f"wrote {out}: unmasked_bias {bias}")


def main() -> None:
    # FFmpeg's own log lines ("moov atom not found") would make a second line beside our one-line error.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    if "OPENCV_LOG_LEVEL" not in os.environ:
        import cv2  # already imported by the commands' modules, so the environment variable would come too late

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except ModuleNotFoundError as err:
        package = (err.name or "").split(".")[0]
        if package not in EXTRAS:
            raise
        typer.echo(
            f"error: this needs {package}, which comes with an extra: pip install 'maskwatch[{EXTRAS[package]}]'",
            err=True,
        )
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
