"""Data commands: ``stalstm prepare`` (raw data set -> prepared store) and ``stalstm info``
(a store's summary). Each is one call into the Python API (``stalstm.prepare.prepare_dataset``,
``stalstm.store.ClipStore``); the heavy imports happen inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stalstm.datasets import DATASETS
from stalstm.transforms.presets import PRESETS

PREPARED = [name for name, entry in DATASETS.items() if entry.list_samples is not None]
DATASET_HELP = f"Data set: {', '.join(PREPARED)}."


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""

    @app.command()
    def prepare(
        dataset: Annotated[str, typer.Argument(help=DATASET_HELP)],
        root: Annotated[
            Path, typer.Option("--root", help="Raw data folder (pyskl: the annotation pickle).")
        ],
        out: Annotated[Path, typer.Option("--out", help="Store folder to write.")],
        preset: Annotated[
            str | None,
            typer.Option(
                "--preset",
                help=f"Preparation preset ({', '.join(PRESETS)}); default per data set: "
                + ", ".join(f"{data} {DATASETS[data].default_preset}" for data in PREPARED)
                + ".",
            ),
        ] = None,
        workers: Annotated[int, typer.Option("--workers", min=1, help="Processes.")] = 1,
        layout: Annotated[
            str | None, typer.Option("--layout", help="Joint layout of generic data.")
        ] = None,
        shard_size: Annotated[
            int, typer.Option("--shard-size", min=1, help="Samples per shard (resume unit).")
        ] = 64,
        missing_list: Annotated[
            Path | None,
            typer.Option("--missing-list", help="NTU's list of samples with missing skeletons."),
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    ) -> None:
        """Prepare a raw data set into a store: parallel, resumable after a kill, checksummed;
        bad samples are skipped with their reason in OUT/report.json (with, for UTD-MHAD, the
        clips of its recording plan missing from the folder)."""
        from rich.console import Console

        from stalstm.errors import StalstmError
        from stalstm.prepare import prepare_dataset

        try:
            report = prepare_dataset(
                dataset,
                root,
                out,
                preset=preset,
                workers=workers,
                layout=layout,
                shard_size=shard_size,
                missing_list=missing_list,
                show_progress=not quiet,
            )
        except (StalstmError, ValueError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from error
        Console().print(report.summary_table())

    @app.command()
    def info(
        directory: Annotated[Path, typer.Argument(help="A prepared store folder.")],
        verify: Annotated[
            bool, typer.Option("--verify", help="Also check every file's SHA-256.")
        ] = False,
    ) -> None:
        """Print a prepared store's summary (data set, preset, layout, clips per class)."""
        from rich.console import Console

        from stalstm.errors import StalstmError
        from stalstm.store import ClipStore

        try:
            store = ClipStore.open(directory, verify=verify)
        except StalstmError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from error
        console = Console()
        console.print(store.summary_table())
        if len(store):
            from stalstm.normalisation import placement_warnings, store_statistics

            for message in placement_warnings(store_statistics(store)):
                console.print(f"[bold yellow]warning:[/bold yellow] {message}")
