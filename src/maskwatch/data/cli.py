"""`maskwatch data ...`: build the crop dataset and report on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Build and inspect the face-crop dataset.", no_args_is_help=True)


@app.command()
def build(
    sources: Annotated[
        list[Path], typer.Argument(help="Source folders (VOC, YOLO or class folders) or roots holding several.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output directory (crops/, manifest.csv, cleaning.json).")],
    val_fraction: Annotated[float, typer.Option(help="Fraction of each source/class kept for validation.")] = 0.15,
    seed: Annotated[int, typer.Option(help="Seed of the train/val split.")] = 0,
    exclude: Annotated[list[str], typer.Option("--exclude", help="Source folder name to leave out (repeatable).")] = [],  # noqa: B006
    workers: Annotated[int, typer.Option(help="Worker processes for decoding and face detection.")] = 2,
) -> None:
    """Import, clean, crop faces, group near-duplicates, split train/val and write DIR/manifest.csv."""
    from rich.console import Console

    from maskwatch.data.build import build_dataset

    console = Console()
    summary = build_dataset(sources, out, val_fraction=val_fraction, seed=seed, exclude=exclude, workers=workers)
    s = summary.stats
    console.print(
        f"{summary.crops} crops from {s['images_kept']}/{s['images_in']} images, {s['groups']} groups "
        f"({s['multi_image_groups']} with several images), {s['seconds_total']} s → {out}"
    )
    for src, reasons in summary.dropped.items():
        shown = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()) if v)
        console.print(f"  dropped from {src}: {shown or 'nothing'}")


@app.command()
def report(directory: Annotated[Path, typer.Argument(help="A directory written by `data build`.")]) -> None:
    """Counts, histograms and subgroup coverage of a built dataset (DIR/report/)."""
    from maskwatch.data.report import build_report, print_report

    print_report(build_report(directory))


@app.command()
def scenes(
    data_dir: Annotated[Path, typer.Argument(help="The shared data folder (holding andrewmvd/ and jolignier/).")],
    manifest: Annotated[Path, typer.Option(help="Crop manifest (data build): which photos are train and which val.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: <kind>-<split>/<source>/ VOC folders.")] = Path(
        "build/scenes"
    ),
    split: Annotated[list[str], typer.Option("--split", help="Split(s) to draw from (repeatable).")] = ["train", "val"],  # noqa: B006
    kind: Annotated[
        list[str],
        typer.Option(
            "--kind",
            help="wide (1920x1080 frames), close (240x240 close-ups), video "
            "(1080p clips of people walking, ground truth per frame).",
        ),
    ] = ["wide", "close"],  # noqa: B006
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same scenes.")] = 0,
    video_seconds: Annotated[float, typer.Option(help="Length of each clip (--kind video).", min=0.1)] = 10.0,
    video_clips: Annotated[int, typer.Option(help="Clips per source (--kind video).", min=1)] = 1,
) -> None:
    """Test scenes from the VOC photos: wide 1080p frames with the photos at their own size, 240-px close-ups,
    clips of people walking."""
    from maskwatch.data.scenes import build_scenes

    counts = build_scenes(data_dir, manifest, out, tuple(split), tuple(kind), seed, video_seconds, video_clips)
    for name, n in counts.items():
        typer.echo(f"{out / name}: {n} scenes")
