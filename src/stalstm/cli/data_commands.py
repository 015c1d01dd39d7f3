"""Data commands: ``stalstm prepare`` (raw data set -> prepared store) and ``stalstm info``
(a store's summary). Each is one call into the Python API (``stalstm.prepare.prepare_dataset``,
``stalstm.store.ClipStore``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stalstm.cli.common import JsonOption, LayoutOption, QuietOption, command, echo_json, out_option
from stalstm.datasets import DATASETS
from stalstm.transforms.presets import PRESETS

PREPARED = [name for name, entry in DATASETS.items() if entry.list_samples is not None]


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""

    @app.command()
    @command
    def prepare(
        dataset: Annotated[
            str, typer.Argument(metavar="DATASET", help=f"Data set: {', '.join(PREPARED)}.")
        ],
        root: Annotated[
            Path,
            typer.Option(
                "--root", metavar="PATH", help="Raw data folder (pyskl: the annotation pickle)."
            ),
        ],
        out: Annotated[Path, out_option("Store folder to write.")],
        preset: Annotated[
            str | None,
            typer.Option(
                "--preset",
                metavar="NAME",
                help=f"Preparation preset ({', '.join(PRESETS)}); default per data set: "
                + ", ".join(f"{name} {DATASETS[name].default_preset}" for name in PREPARED)
                + ".",
            ),
        ] = None,
        layout: LayoutOption = None,
        workers: Annotated[
            int, typer.Option("--workers", min=1, metavar="N", help="Processes.")
        ] = 1,
        shard_size: Annotated[
            int,
            typer.Option(
                "--shard-size", min=1, metavar="N", help="Samples per shard (resume unit)."
            ),
        ] = 64,
        missing_list: Annotated[
            Path | None,
            typer.Option(
                "--missing-list",
                metavar="FILE",
                help="NTU's list of samples with missing skeletons.",
            ),
        ] = None,
        quiet: QuietOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Prepare a raw data set into a store: parallel, resumable after a kill, checksummed;
        bad samples are skipped with their reason in OUT/report.json. Fails when no clip could
        be prepared, saying why."""
        from rich.console import Console

        from stalstm.prepare import prepare_dataset

        report = prepare_dataset(
            dataset, root, out, preset=preset, workers=workers, layout=layout,
            shard_size=shard_size, missing_list=missing_list,
            show_progress=not (quiet or as_json),
        )  # fmt: skip
        if as_json:
            echo_json({"out": str(out), **report.to_json()})
        else:
            Console().print(report.summary_table())

    @app.command()
    @command
    def info(
        directory: Annotated[
            Path, typer.Argument(metavar="STORE", help="A prepared store folder.")
        ],
        verify: Annotated[
            bool, typer.Option("--verify", help="Also check every file's SHA-256.")
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Print a prepared store's summary (data set, preset, layout, clips per class) and
        warnings about its coordinates' placement."""
        from collections import Counter

        from rich.console import Console

        from stalstm.normalisation import placement_warnings, store_statistics
        from stalstm.store import ClipStore

        store = ClipStore.open(directory, verify=verify)
        warnings = placement_warnings(store_statistics(store)) if len(store) else []
        if as_json:
            counts = Counter(int(row["label"]) for row in store.metadata)
            names = store.class_names
            echo_json({
                **{key: value for key, value in store.info.items()
                   if key not in ("layout_definition",)},
                "clips_per_class": {names[label] if 0 <= label < len(names) else str(label): n
                                    for label, n in sorted(counts.items())},
                "verified": verify, "warnings": warnings,
            })  # fmt: skip
            return
        console = Console()
        console.print(store.summary_table())
        for message in warnings:
            console.print(f"[bold yellow]warning:[/bold yellow] {message}")
