"""`maskwatch train DATASET_DIR --out RUN_DIR`, mounted by the main CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RepeatSource = Annotated[
    list[str] | None,
    typer.Option(
        help="SOURCE=K: that source's crops K times per epoch (repeatable; a source is named after its folder in "
        "`data build`)."
    ),
]
CasesRepeat = Annotated[
    int,
    typer.Option(
        help="Crops of the labelled cases (a `cases export` folder built in as a source) K times per epoch; "
        "--repeat-source names one source instead."
    ),
]

Members = Annotated[
    int,
    typer.Option(
        help="Train this many members alike from seeds SEED, SEED+1, ... (each in OUT/member-<seed>/) and export one "
        "model.onnx averaging their probabilities, and model_light.onnx, the first alone, for the fast mode."
    ),
]
Network = Annotated[
    str,
    typer.Option(
        help="detector-backbone: MaskNet, the face detector's MobileNet-0.25 body; mobilenet-v2: MobileNetV2 from "
        "ImageNet weights (`make weights` fetches them)."
    ),
]
LightFor = Annotated[
    Path | None,
    typer.Option(
        help="The shipped classifier this run stands in for in `--mode fast` (its SHA-256 goes into model.onnx, "
        "which ships as models/mask_classifier_light.onnx)."
    ),
]

Ema = Annotated[
    float,
    typer.Option(
        help="Keep an exponential moving average of the weights with this decay per step (0: off) and export it."
    ),
]
FlipAverage = Annotated[
    bool,
    typer.Option(
        help="Export model.onnx to classify each crop also mirrored and average the two, for 2-2.5 times the time "
        "a face (for the shipped network: `incorrect` AP up on every photo set, the videos no better; model card)."
    ),
]


def train_command(
    dataset_dir: Annotated[
        Path, typer.Argument(help="Folder with manifest.csv (from `maskwatch data build`).", show_default=False)
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Run folder: config.json, metrics.jsonl, best.pt, model.onnx, parity.json."),
    ] = Path("runs/train"),
    epochs: Annotated[int, typer.Option(help="Most epochs (early stopping may end sooner).")] = 20,
    seed: Annotated[int, typer.Option(help="Seed for init, shuffling and augmentation.")] = 0,
    input_size: Annotated[int, typer.Option(help="Model input side S (crops are resized to S x S).")] = 112,
    limit: Annotated[int | None, typer.Option(help="Use only about N crops (80/20 train/val) for smoke tests.")] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate (OneCycle).")] = 3e-3,
    patience: Annotated[int, typer.Option(help="Stop after this many epochs without a better val macro-F1.")] = 8,
    threads: Annotated[int, typer.Option(help="Torch / decoding threads.")] = 2,
    progress: Annotated[bool, typer.Option(help="Show a progress bar per epoch.")] = True,
    user_crop: Annotated[
        float,
        typer.Option(help="Share of each batch framed like a crop cut by hand from an annotated box (tight, squared)."),
    ] = 0.0,
    ema: Ema = 0.0,
    repeat_source: RepeatSource = None,
    cases_repeat: CasesRepeat = 1,
    members: Members = 1,
    network: Network = "detector-backbone",
    light_for: LightFor = None,
    flip_average: FlipAverage = False,
) -> None:
    """Train the mask / no_mask / incorrect classifier; writes the run folder and its model.onnx."""
    from maskwatch.train.augment import AugmentConfig
    from maskwatch.train.cases import parse_repeats
    from maskwatch.train.ensemble import train_members
    from maskwatch.train.train import TrainConfig

    cfg = TrainConfig(
        str(dataset_dir),
        str(out),
        epochs=epochs,
        seed=seed,
        input_size=input_size,
        limit=limit,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        threads=threads,
        progress=progress,
        source_repeat=parse_repeats(repeat_source or []),
        cases_repeat=cases_repeat,
        augment=AugmentConfig(user_crop=user_crop),
        ema_decay=ema,
        network=network,
        light_for=str(light_for) if light_for else None,
        flip_average=flip_average,
    )
    train_members(cfg, members, log=lambda msg: typer.echo(msg, err=True))
