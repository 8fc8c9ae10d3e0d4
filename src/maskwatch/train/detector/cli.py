"""`maskwatch train-detector VOC_FOLDER... --manifest MANIFEST --out RUN_DIR`, mounted by the main CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _repeats(items: list[str] | None) -> dict[str, float] | None:
    from maskwatch.core.errors import UserError

    if not items:
        return None
    out: dict[str, float] = {}
    for item in items:
        name, _, k = item.partition("=")
        try:
            out[name] = float(k)
        except ValueError:
            raise UserError(f"--repeat-source takes SOURCE=K with K a number >= 0, got {item!r}") from None
        if not name or out[name] < 0:
            raise UserError(f"--repeat-source takes SOURCE=K with K a number >= 0, got {item!r}")
    return out


def _sizes(text: str) -> tuple[tuple[int, int, float], ...]:
    from maskwatch.core.errors import UserError

    try:
        sizes = tuple((int(s), int(b), float(w)) for s, b, w in (part.split(":") for part in text.split(",")))
    except ValueError:
        raise UserError(f"--sizes takes SIDE:BATCH:SHARE,... (e.g. 384:24:0.75,640:8:0.25), got {text!r}") from None
    if not sizes or any(s < 64 or s % 32 or b < 1 or w <= 0 for s, b, w in sizes):
        raise UserError(f"--sizes: sides multiples of 32 from 64 on, batches >= 1, shares > 0; got {text!r}")
    return sizes


VocFolders = Annotated[
    list[Path], typer.Argument(help="PASCAL VOC folders of photos with face boxes.", show_default=False)
]
TrainManifest = Annotated[
    Path, typer.Option(help="Dataset manifest (maskwatch data build): only its train images are used.")
]
RunFolder = Annotated[
    Path, typer.Option("--out", "-o", help="Run folder: config, metrics.jsonl, checkpoints, model.onnx.")
]
Sizes = Annotated[str, typer.Option(help="Training windows SIDE:BATCH:SHARE, comma-separated.")]
RepeatSource = Annotated[
    list[str] | None,
    typer.Option(
        help="SOURCE=K: draw that source's photos K times per epoch "
        "(default andrewmvd=2, maskedfacenet=0.35, others 1)."
    ),
]
TeacherIgnore = Annotated[
    float,
    typer.Option(
        help="Unannotated anchors the original detector scores at least this are not taught as background (1: off)."
    ),
]


def _check_inputs(folders: list[Path], manifest: Path, tune_share: float) -> None:
    from maskwatch.core.errors import UserError

    if not 0 <= tune_share < 1:
        raise UserError(f"--tune-share must be within 0..1, got {tune_share}")
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"{folder}: no such folder")
    if not manifest.is_file():
        raise UserError(f"{manifest}: manifest not found")


def train_detector_command(
    folders: VocFolders,
    manifest: TrainManifest,
    out: RunFolder = Path("runs/detector"),
    activation: Annotated[str, typer.Option(help="leaky (as shipped) or relu (runs faster in INT8).")] = "leaky",
    epochs: Annotated[int, typer.Option(help="Epochs (the tune-best one is exported).")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the sampling and augmentation.")] = 0,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, warm-up then cosine).")] = 5e-5,
    sizes: Sizes = "384:24:0.75,640:8:0.25",
    repeat_source: RepeatSource = None,
    tune_share: Annotated[float, typer.Option(help="Share of the train groups held out to pick the best epoch.")] = 0.1,
    eval_every: Annotated[int, typer.Option(help="Score the tune photos every N epochs.")] = 2,
    teacher_ignore: TeacherIgnore = 0.5,
    threads: Annotated[int, typer.Option(help="Torch threads.")] = 2,
    limit: Annotated[int | None, typer.Option(help="Use only N photos per source (smoke tests).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="At most N steps per epoch (smoke tests).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from RUN/last.pt after its last finished epoch.")] = False,
    progress: Annotated[bool, typer.Option(help="Log every 10 steps.")] = True,
) -> None:
    """Fine-tune the RetinaFace face detector on annotated face boxes; writes RUN/model.onnx."""
    from maskwatch.train.detector.loss import LossConfig
    from maskwatch.train.detector.train import DetectorTrainConfig, train_detector

    _check_inputs(folders, manifest, tune_share)
    cfg = DetectorTrainConfig(
        [str(f) for f in folders],
        str(manifest),
        str(out),
        activation=activation,
        epochs=epochs,
        seed=seed,
        lr=lr,
        sizes=_sizes(sizes),
        tune_share=tune_share,
        eval_every=max(1, eval_every),
        threads=threads,
        limit=limit,
        max_steps=max_steps,
        progress=progress,
        loss=LossConfig(teacher_ignore_score=teacher_ignore),
    )
    repeats = _repeats(repeat_source)
    if repeats is not None:
        cfg.source_repeat = repeats
    train_detector(cfg, log=lambda msg: typer.echo(msg, err=True), resume=resume)
