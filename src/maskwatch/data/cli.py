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
    overrides: Annotated[
        Path | None,
        typer.Option(help="Label corrections (CSV image,box,label; label `drop` leaves a face out), e.g. from audit."),
    ] = None,
) -> None:
    """Import, clean, crop faces, group near-duplicates, split train/val and write DIR/manifest.csv."""
    from rich.console import Console

    from maskwatch.data.build import build_dataset

    console = Console()
    summary = build_dataset(
        sources, out, val_fraction=val_fraction, seed=seed, exclude=exclude, workers=workers, overrides=overrides
    )
    s = summary.stats
    if "overrides" in s:
        console.print("overrides: " + ", ".join(f"{k} {v}" for k, v in s["overrides"].items()))
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
def audit(
    dataset_dir: Annotated[Path, typer.Argument(help="A directory written by `data build`.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for suspects.csv, the sheet and the draft.")] = Path(
        "runs/audit"
    ),
    split: Annotated[str | None, typer.Option(help="Audit only this split (train or val); default: all crops.")] = None,
    limit: Annotated[int | None, typer.Option(help="Audit this many crops drawn at random (seeded).", min=10)] = None,
    model: Annotated[
        Path | None, typer.Option(help="Classifier ONNX whose features are used (default: shipped).")
    ] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds.", min=2, max=20)] = 5,
    top: Annotated[int, typer.Option(help="Suspects drawn on the sheet and put in the overrides draft.", min=1)] = 64,
    seed: Annotated[int, typer.Option(help="Seed of --limit and of the folds.")] = 0,
) -> None:
    """Rank likely label errors with cleanlab (out-of-fold probabilities of a k-fold logistic regression on the
    classifier's features): suspects.csv, suspects.png (the top ones, given>suggested) and overrides_draft.csv
    to review and pass to `data build --overrides`. Sources are never edited."""
    from maskwatch.core.errors import UserError
    from maskwatch.data.audit import audit_dataset, contact_sheet, write_overrides_draft, write_suspects

    if split not in (None, "train", "val"):
        raise UserError(f"--split must be train or val, got {split!r}")
    result = audit_dataset(dataset_dir, split, limit, model, folds, seed)
    typer.echo(
        f"{len(result.suspects)} likely label errors among {result.n_crops} crops "
        f"(out-of-fold accuracy {result.oof_accuracy:.1%})"
    )
    for given, to in sorted(result.flips.items()):
        typer.echo(f"  given {given}: " + ", ".join(f"-> {k} {v}" for k, v in sorted(to.items())))
    for source, c in sorted(result.per_source.items()):
        typer.echo(f"  {source}: {c['suspects']} of {c['crops']} ({c['suspects'] / c['crops']:.1%})")
    written = [write_suspects(result, out / "suspects.csv")]
    if result.suspects:
        written.append(contact_sheet(result, dataset_dir, out / "suspects.png", top))
        written.append(write_overrides_draft(result, out / "overrides_draft.csv", top))
    typer.echo(f"wrote {', '.join(str(p) for p in written)}", err=True)


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
