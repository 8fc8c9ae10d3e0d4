"""`maskwatch evaluate crops|boxes|folders|voc|video`: score the classifier, the pipeline or detect --json."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from maskwatch.core.errors import UserError

if TYPE_CHECKING:
    from maskwatch.evaluate.crops import CropResult
    from maskwatch.evaluate.voc import VocResult

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Score the classifier or the whole pipeline.")

Out = Annotated[Path, typer.Option("--out", "-o", help="Folder for metrics.json, confusion.png, pr_curves.png.")]
Model = Annotated[Path | None, typer.Option(help="Classifier ONNX (default: the shipped model).")]
ValManifest = Annotated[Path | None, typer.Option(help="Score only images this manifest.csv lists with split == val.")]
VocFolders = Annotated[
    list[Path], typer.Argument(help="PASCAL VOC folders (images/ + annotations/).", show_default=False)
]
Detector = Annotated[
    str | None,
    typer.Option(
        "--detector",
        help="Face detector: a shipped model's name (retinaface_mnet025, retinaface_mnet025_ft) or an ONNX file; "
        "default: the shipped default.",
    ),
]


def _report(result: VocResult | CropResult, out: Path, predictions: dict | None = None) -> None:
    """Print the result's table, write its files and say where."""
    from maskwatch.evaluate.report import print_result, write_report

    print_result(result)
    written = write_report(result, out, predictions)
    typer.echo(f"wrote {', '.join(str(p) for p in written)}", err=True)


@app.command()
def crops(
    dataset_dir: Annotated[
        Path, typer.Argument(help="Crop dataset folder (manifest.csv + crops/).", show_default=False)
    ],
    model: Model = None,
    out: Out = Path("runs/eval_crops"),
) -> None:
    """The classifier on the val split of a crop dataset: accuracy, per-class P/R/F1, per-source accuracy, and the
    misclassified crops (mistakes.csv, mistakes.jpg)."""
    from maskwatch.evaluate.crops import evaluate_crops

    result = evaluate_crops(dataset_dir, model_path=model)
    _report(result, out)


@app.command()
def boxes(
    folders: VocFolders,
    manifest: ValManifest = None,
    margin: Annotated[
        float, typer.Option(help="Widen each annotated box by this share of its width / height per side.")
    ] = 0.0,
    model: Model = None,
    find_face: Annotated[
        bool, typer.Option(help="As `classify`: also score each crop re-cut around the face found in it.")
    ] = True,
    out: Out = Path("runs/eval_boxes"),
) -> None:
    """The classifier on faces cut from the annotated boxes as they are (the crops `maskwatch classify` is given):
    accuracy, per-class P/R/F1, per-folder accuracy, and the misclassified faces."""
    from maskwatch.evaluate.boxes import evaluate_boxes

    result = evaluate_boxes(folders, manifest, margin, model_path=model, find_face=find_face)
    _report(result, out)


@app.command()
def folders(
    folders: Annotated[
        list[Path],
        typer.Argument(
            help="Class folders: one subfolder per label (mask/, no_mask/, with_mask/, ...).", show_default=False
        ),
    ],
    manifest: ValManifest = None,
    model: Model = None,
    find_face: Annotated[
        bool, typer.Option(help="As `classify`: also score each image re-cut around the face found in it.")
    ] = True,
    out: Out = Path("runs/eval_folders"),
) -> None:
    """The classifier on labelled images given as they are, as `maskwatch classify` scores them: accuracy,
    per-class P/R/F1, per-folder accuracy, and the misclassified images."""
    from maskwatch.evaluate.folders import evaluate_folders

    result = evaluate_folders(folders, manifest, model_path=model, find_face=find_face)
    _report(result, out)


@app.command()
def voc(
    folders: VocFolders,
    manifest: ValManifest = None,
    preds: Annotated[
        Path | None, typer.Option(help="Predictions JSON {file: [{box, label, score}]}; without it the pipeline runs.")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Operating score threshold of the compliance view.")] = 0.5,
    incorrect: Annotated[
        str, typer.Option(help="Incorrect faces: keep | no_mask (fold in) | ignore (for two-class models).")
    ] = "keep",
    model: Model = None,
    input_size: Annotated[
        int | None,
        typer.Option(
            help="One detector pass at this input long side (default: scales and tiles chosen per image, as predict).",
            min=32,
        ),
    ] = None,
    providers: Annotated[
        str, typer.Option(help="ONNX Runtime provider for the pipeline: cpu, cuda, openvino.")
    ] = "cpu",
    detector: Detector = None,
    out: Out = Path("runs/eval_voc"),
) -> None:
    """Detection AP per class, mAP, face AP and unmasked recall on annotated photos."""
    from maskwatch.evaluate.voc import INCORRECT_MODES, evaluate_voc, load_predictions

    if not 0.0 <= threshold <= 1.0:
        raise UserError(f"--threshold must be within 0..1, got {threshold}")
    if incorrect not in INCORRECT_MODES:
        raise UserError(f"--incorrect must be one of {', '.join(INCORRECT_MODES)}, got {incorrect!r}")
    pipeline = None
    predictions = load_predictions(preds) if preds else None
    if predictions is None:
        from maskwatch.pipeline import MaskPipeline

        pipeline = MaskPipeline.from_defaults(
            input_size=input_size, min_score=0.05, providers=providers, classifier_path=model, detector=detector
        )
    result, scored = evaluate_voc(folders, manifest, predictions, pipeline, threshold, incorrect=incorrect)
    _report(result, out, predictions=scored if pipeline is not None else None)


@app.command("detector")
def detector_command(
    folders: VocFolders,
    manifest: ValManifest = None,
    detector: Detector = None,
    input_size: Annotated[int, typer.Option(help="Detector input long side.", min=32, max=4096)] = 1024,
    split: Annotated[
        str, typer.Option(help="Which split of the manifest to score (val, or train to compare).")
    ] = "val",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the figures as JSON here.")] = None,
) -> None:
    """The face detector alone, per folder: face AP (calibrated boxes) and the share of masked, unmasked and
    incorrect faces found at score >= 0.3 with IoU >= 0.5, overall and by face size."""
    import json

    from maskwatch.detect import BoxCalibration, RetinaFaceDetector
    from maskwatch.detect.models import resolve_detector
    from maskwatch.evaluate.detector import detector_predictions, score_detections, split_annotations

    if split not in ("val", "train"):
        raise UserError(f"--split must be val or train, got {split!r}")
    model = resolve_detector(detector)
    face_detector = RetinaFaceDetector(model.path, input_size=input_size, min_score=0.02)
    calibration = BoxCalibration.load(model.calibration)
    per_folder: dict[str, dict] = {}
    figures = {"detector": model.name, "input_size": input_size, "split": split, "folders": per_folder}
    for folder in folders:
        annotations = split_annotations([folder], manifest, split)
        predictions = detector_predictions(annotations, face_detector, calibration, progress=True)
        score = score_detections(annotations, predictions)
        per_folder[Path(folder).name] = score.to_dict()
        recall = " ".join(
            f"{g} {score.recall(g):.1%} ({score.found[g][0]}/{score.found[g][1]})"
            for g in ("mask", "no_mask", "incorrect", "unmasked")
        )
        typer.echo(
            f"{Path(folder).name}: {score.n_images} photos, face AP {score.face_ap:.3f}; found at score >= 0.3: "
            f"{recall}; false detections {score.false_detections}"
        )
        typer.echo("  by size (px): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in score.by_size.items()))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=1))
        typer.echo(f"wrote {out}", err=True)


@app.command()
def video(
    preds: Annotated[Path, typer.Argument(help="`maskwatch detect VIDEO --json` output.", show_default=False)],
    truth: Annotated[
        Path, typer.Argument(help="The clip's per-frame ground truth {frame key: [{box, label, difficult}]}.")
    ],
    threshold: Annotated[float, typer.Option(help="Score at which a face counts as flagged.")] = 0.5,
    out: Out = Path("runs/eval_video"),
) -> None:
    """detect --json output scored per analysed frame: mAP (mask, no_mask; incorrect faces ignored), AP per class,
    unmasked faces found and masked faces flagged at --threshold."""
    import json

    from maskwatch.evaluate.video import read_json_object, score_video

    if not 0.0 <= threshold <= 1.0:
        raise UserError(f"--threshold must be within 0..1, got {threshold}")
    score = score_video(read_json_object(preds, "predictions"), read_json_object(truth, "ground truth"), threshold)
    figures = score.to_dict()
    ap = figures["ap"]
    typer.echo(f"frames scored: {figures['frames']}, faces: {figures['n_faces']}")
    typer.echo(
        f"mAP (mask, no_mask) {figures['map_mask_no_mask']:.3f}; AP mask {ap['mask']:.3f}, no_mask "
        f"{ap['no_mask']:.3f}, incorrect {ap['incorrect']:.3f}"
    )
    typer.echo(
        f"at score >= {threshold:g}: unmasked found {figures['unmasked_found']:.1%} of {figures['n_unmasked']}, "
        f"masked flagged {figures['masked_flagged']:.1%} of {figures['n_masked_detected']} found, "
        f"{figures['n_false_detections']} false detections"
    )
    if figures["clips"] > 1:
        shown = {k: v for k, v in figures["intervals"].items() if v is not None}
        typer.echo(
            f"95 % intervals over resampled clips ({figures['clips']}): "
            + ", ".join(f"{k} {low:.3f}-{high:.3f}" for k, (low, high) in shown.items())
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(figures, indent=1))
    except OSError as err:
        raise UserError(f"cannot write {out / 'metrics.json'}: {err.strerror or err}") from None
    typer.echo(f"wrote {out / 'metrics.json'}", err=True)
