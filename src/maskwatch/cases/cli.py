"""`maskwatch cases list | export OUT | purge`: the hard cases the service kept (collect:), from the machine it runs
on. Each command is written to the cases' audit log (role `cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maskwatch.cases.store import DATABASE, REASONS, CaseStore
from maskwatch.core.errors import UserError

app = typer.Typer(
    help="Hard cases kept by the service (collect:): list, export for training, purge.", no_args_is_help=True
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="The service's YAML config: its collect.folder and retention.")
]
FolderOption = Annotated[Path | None, typer.Option("--folder", help="The cases folder itself (instead of --config).")]


def open_store(config: Path | None, folder: Path | None) -> CaseStore:
    """The store of --config's collect: section, or of --folder (with collect's default retention and cap)."""
    from maskwatch.config import CollectConfig, load_config

    if (config is None) == (folder is None):
        raise UserError("give --config FILE (the service's) or --folder DIR (the cases folder), one of them")
    if config is not None:
        cfg = load_config(config)
        where, collect = cfg.cases_folder, cfg.collect
    else:
        assert folder is not None
        where, collect = folder, CollectConfig()
    if not (where / DATABASE).is_file():
        raise UserError(f"{where}: no cases kept there (no {DATABASE}); collect.enabled turns collection on")
    return CaseStore(where, collect.retention_days, collect.max_mb)


@app.command("list")
def list_cases(
    config: ConfigOption = None,
    folder: FolderOption = None,
    reason: Annotated[str | None, typer.Option(help=f"Only this reason: reviewed, {', '.join(REASONS)}.")] = None,
    labelled: Annotated[
        bool | None, typer.Option("--labelled/--unlabelled", help="Only labelled or unlabelled.")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Cases shown at most (newest first); 0: counts only.")] = 20,
) -> None:
    """Counts per reason and per label, and the newest cases (no image: the crops are on the Cases page)."""
    from maskwatch.events.times import iso

    if reason is not None and reason not in ("reviewed", *REASONS):
        raise UserError(f"--reason must be reviewed or one of {', '.join(REASONS)}, got {reason!r}")
    store = open_store(config, folder)
    try:
        counts = store.counts()
        typer.echo(f"{counts['total']} cases, {counts['labelled']} labelled, {counts['bytes'] / 1e6:.1f} MB")
        typer.echo("reasons: " + ", ".join(f"{k} {v}" for k, v in counts["reasons"].items()))
        typer.echo("labels:  " + ", ".join(f"{k} {v}" for k, v in counts["labels"].items()))
        shown = store.query(reason=reason, labelled=labelled, limit=limit) if limit else []
        for c in shown:
            guess = f"{c.guess} {c.probs[c.guess]:.2f}"
            typer.echo(
                f"{c.id:>6}  {iso(c.time)}  {c.camera}/{c.zone or '-'}  {c.reason:<20}  model {guess:<16}  "
                f"label {c.label or '-'}"
            )
        store.audit.write("cli", "list", f"{len(shown)} cases (reason={reason}, labelled={labelled})")
    finally:
        store.close()


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Folder for mask/ no_mask/ incorrect/ not_a_face/ and cases.csv.")],
    config: ConfigOption = None,
    folder: FolderOption = None,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the exported crops in the store too.")] = False,
) -> None:
    """The labelled crops as class folders with cases.csv (provenance), for `maskwatch data build OUT ...`; they
    leave the store unless --keep. Unlabelled crops stay. A folder with an earlier export is added to."""
    from maskwatch.cases.export import export_cases

    store = open_store(config, folder)
    try:
        summary = export_cases(store, out, keep=keep)
    finally:
        store.close()
    per_label = ", ".join(f"{k} {v}" for k, v in summary.per_label.items())
    left = "kept in the store" if keep else f"{summary.removed} removed from the store"
    typer.echo(f"exported {summary.total} labelled crops to {out} ({per_label}); {left}")


@app.command()
def purge(
    config: ConfigOption = None,
    folder: FolderOption = None,
    everything: Annotated[bool, typer.Option("--all", help="Remove every case, labelled or not.")] = False,
) -> None:
    """Applies retention and the size cap now (the service does so every 10 minutes), or removes everything."""
    store = open_store(config, folder)
    try:
        gone = store.purge(everything=everything)
        store.audit.write("cli", "purge", f"{gone} cases removed ({'all' if everything else 'retention and cap'})")
        left = store.counts()["total"]
    finally:
        store.close()
    typer.echo(f"removed {gone} cases; {left} left")
