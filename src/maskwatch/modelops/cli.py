"""`maskwatch models compare | promote | rollback | list | spread`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from maskwatch.core.errors import UserError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Compare classifiers; promote one to the service, roll back."
)

ServiceConfig = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="The service's YAML config: its models folder is beside storage.database."),
]
ModelsDir = Annotated[Path | None, typer.Option("--models-dir", help="The models folder itself (instead of --config).")]


def _models_folder(config: Path | None, models_dir: Path | None) -> tuple[Path, Path]:
    """(the service's models folder, its shipped or configured classifier)."""
    from maskwatch.classify.classifier import default_model
    from maskwatch.modelops.registry import models_folder

    if models_dir is not None:
        return models_dir, default_model()
    if config is None:
        raise UserError("give the service's --config (or --models-dir)")
    from maskwatch.config import load_config

    cfg = load_config(config)
    shipped = Path(cfg.detector.classifier) if cfg.detector.classifier else default_model()
    return models_folder(cfg.storage.database), shipped


def _read_spread(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        spread = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not a seed-spread file ({err})") from None
    if not isinstance(spread, dict) or "accuracy" not in spread:
        raise UserError(f"{path}: not a seed-spread file (no accuracy figures; write one with `models spread`)")
    return spread


@app.command()
def compare(
    model_a: Annotated[Path, typer.Argument(help="The model in use (A).", show_default=False)],
    model_b: Annotated[Path, typer.Argument(help="The candidate (B).", show_default=False)],
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="A built dataset (folder or manifest.csv): both models on its val crops; with --photos, "
            "only its val photos are scored."
        ),
    ] = None,
    cases: Annotated[
        Path | None,
        typer.Option(
            help="Held-out labelled cases: class folders (as `cases export` writes) or a built dataset of "
            "them (its val split)."
        ),
    ] = None,
    photos: Annotated[
        list[Path] | None, typer.Option("--photos", help="PASCAL VOC folder of photos (repeatable).")
    ] = None,
    detector: Annotated[str | None, typer.Option(help="Face detector for --photos (default: the shipped one).")] = None,
    spread: Annotated[
        Path | None, typer.Option(help="Seed-spread JSON (`models spread`): the differences retraining alone makes.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    subgroups: Annotated[
        bool, typer.Option(help="Subgroup figures of the crops (a face detector run over them for the pose).")
    ] = True,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write everything to this JSON file.")] = None,
) -> None:
    """A against B on the same data: a side-by-side table, per-subgroup differences, McNemar's test and bootstrap
    intervals on the crops, and a verdict (better, worse, no detectable difference) by the rule printed with it."""
    from maskwatch.modelops.compare import compare as run_compare
    from maskwatch.modelops.compare import overall_verdict
    from maskwatch.modelops.table import print_comparison

    for path in (model_a, model_b):
        if not path.is_file():
            raise UserError(f"{path}: no such model file")
    result = run_compare(model_a, model_b, manifest, cases, _read_spread(spread), seed, subgroups)
    if photos:
        from maskwatch.modelops.photos import compare_photos

        result["sets"].append(compare_photos(model_a, model_b, photos, manifest, detector))
        result["verdict"] = overall_verdict(result["sets"])
    print_comparison(result)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, default=float) + "\n")
        typer.echo(f"wrote {json_out}", err=True)


@app.command()
def promote(
    model: Annotated[Path, typer.Argument(help="The classifier ONNX to make active.", show_default=False)],
    config: ServiceConfig = None,
    models_dir: ModelsDir = None,
) -> None:
    """Make MODEL the service's classifier: checked (it must load as a mask classifier), copied into the models
    folder, recorded in its history. A running service swaps it in within a second or two; else at its next start."""
    from maskwatch.modelops.registry import promote as do_promote

    folder, _ = _models_folder(config, models_dir)
    entry = do_promote(model, folder)
    typer.echo(f"promoted {entry.version} ({folder / entry.file}); `maskwatch models rollback` returns to the last")


@app.command()
def rollback(config: ServiceConfig = None, models_dir: ModelsDir = None) -> None:
    """Make the classifier active before the current one active again (down to the shipped one)."""
    from maskwatch.classify.classifier import model_version
    from maskwatch.modelops.registry import rollback as do_rollback

    folder, shipped = _models_folder(config, models_dir)
    back = do_rollback(folder)
    typer.echo(f"active: {back.version if back else model_version(shipped) + ' (shipped)'}")


@app.command("list")
def list_models(config: ServiceConfig = None, models_dir: ModelsDir = None) -> None:
    """The shipped classifier and those promoted, the active one marked."""
    from maskwatch.classify.classifier import model_version
    from maskwatch.modelops.registry import listing

    folder, shipped = _models_folder(config, models_dir)
    for row in listing(folder, model_version(shipped)):
        typer.echo(f"{'*' if row['active'] else ' '} {row['version']}  {row['file']}")


@app.command()
def spread(
    dataset_dir: Annotated[Path, typer.Argument(help="A built dataset (manifest.csv + crops/).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folders seed<k>/ and spread.json.")] = Path(
        "runs/spread"
    ),
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds, at least two.")] = "0,1,2",
    epochs: Annotated[int, typer.Option(help="As `train --epochs`.")] = 20,
    limit: Annotated[int | None, typer.Option(help="As `train --limit`: about N crops, for a smoke run.")] = None,
    input_size: Annotated[int, typer.Option(help="As `train --input-size`.")] = 112,
    threads: Annotated[int, typer.Option(help="As `train --threads`.")] = 2,
    repeat_source: Annotated[list[str] | None, typer.Option(help="As `train --repeat-source`.")] = None,
    user_crop: Annotated[float, typer.Option(help="As `train --user-crop`.", min=0.0, max=1.0)] = 0.0,
) -> None:
    """Train the same data with several seeds and score each model on the val crops: the spread (mean, std, min,
    max per figure) in OUT/spread.json, which `models compare --spread` reads as the retraining noise."""
    from maskwatch.modelops.spread import seed_spread
    from maskwatch.train.augment import AugmentConfig
    from maskwatch.train.cases import parse_repeats

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--seeds takes whole numbers separated by commas, got {seeds!r}") from None
    repeat = parse_repeats(repeat_source or [])
    options: dict[str, object] = {"epochs": epochs, "limit": limit, "input_size": input_size, "threads": threads}
    options |= {"progress": False, "source_repeat": repeat, "augment": AugmentConfig(user_crop=user_crop)}
    result = seed_spread(dataset_dir, out, seed_list, options, log=typer.echo)
    for figure in ("accuracy", "unmasked_recall", "macro_f1"):
        f = result[figure]
        typer.echo(f"{figure}: mean {f['mean']:.4f}, std {f['std']:.4f}, range {f['min']:.4f}..{f['max']:.4f}")
    typer.echo(f"wrote {out / 'spread.json'}", err=True)
