"""Training commands: ``train``, ``eval``, ``cv`` and ``ablate``, each one call into
``stalstm.training.runner``; torch and Lightning are imported inside the commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

RECIPE_HELP = "A shipped recipe (sbu, msr-cs, ntu60-xsub, ntu60-xview, ntu120-xsub, ntu120-xset, "
RECIPE_HELP += (
    "generic; detection: sfinge3d-detect, msr-detect, generic-detect) or a recipe YAML file."
)
DATA_HELP = "A prepared store, or a raw data-set folder (prepared into a cache on first use)."
SET_HELP = "Override a recipe key, e.g. --set schedule.epochs=50 (repeatable)."


def _fail(error: Exception) -> None:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(2) from error


def _known_errors() -> tuple[type[Exception], ...]:
    from stalstm.errors import StalstmError
    from stalstm.training.pipeline import RunExistsError

    return (StalstmError, RunExistsError, FileNotFoundError, ValueError)


def _print_table(out: Path) -> None:
    import os

    table = out / "summary.md"
    if table.is_file() and os.environ.get("RANK", "0") == "0":  # once under torchrun
        typer.echo(table.read_text())


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""

    @app.command()
    def train(
        recipe: Annotated[str, typer.Option("--recipe", help=RECIPE_HELP)],
        data: Annotated[Path, typer.Option("--data", help=DATA_HELP)],
        out: Annotated[Path, typer.Option("--out", help="Run folder to write.")],
        fold: Annotated[
            int | None, typer.Option("--fold", help="Test fold of a cross-validated recipe.")
        ] = None,
        overrides: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
        resume: Annotated[
            bool, typer.Option("--resume", help="Continue a killed run in --out.")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    ) -> None:
        """Train one model by a recipe; writes checkpoints, logs, the model, its evaluation and
        summary.json into --out. Under torchrun, trains with DDP over all its processes."""
        from stalstm.tasks import train as train_run

        try:
            train_run(recipe, data, out, fold, overrides or (), resume=resume,
                      progress_bar=not quiet)  # fmt: skip
        except _known_errors() as error:
            _fail(error)
        _print_table(out)

    @app.command("eval")
    def evaluate(
        run: Annotated[Path, typer.Argument(help="A run folder written by `stalstm train`.")],
        split: Annotated[str, typer.Option("--split", help="train or test.")] = "test",
        data: Annotated[
            Path | None, typer.Option("--data", help="Data, if moved since training.")
        ] = None,
    ) -> None:
        """Evaluate a run's final model on a split: metrics, confusion matrix (CSV, PNG), per-clip
        scores keyed by clip name, into RUN/evaluation-SPLIT/."""
        from stalstm.training.runner import evaluate as evaluate_run

        try:
            metrics = evaluate_run(run, split, data)
        except _known_errors() as error:
            _fail(error)
        typer.echo(json.dumps(metrics, indent=2))

    @app.command()
    def cv(
        recipe: Annotated[str, typer.Option("--recipe", help=RECIPE_HELP)],
        data: Annotated[Path, typer.Option("--data", help=DATA_HELP)],
        out: Annotated[Path, typer.Option("--out", help="Folder of the fold runs and summary.")],
        overrides: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
        parallel: Annotated[
            int, typer.Option("--parallel", min=1, help="Folds trained side by side.")
        ] = 2,
        resume: Annotated[
            bool, typer.Option("--resume", help="Continue: finished folds are kept.")
        ] = False,
    ) -> None:
        """Cross-validate a recipe over its folds; writes summary.json (folds, mean_accuracy,
        std_accuracy, seconds) and summary.md."""
        from stalstm.training.runner import cross_validate

        try:
            cross_validate(recipe, data, out, overrides or (), parallel=parallel, resume=resume)
        except _known_errors() as error:
            _fail(error)
        _print_table(out)

    @app.command()
    def ablate(
        recipe: Annotated[str, typer.Option("--recipe", help=RECIPE_HELP)],
        data: Annotated[Path, typer.Option("--data", help=DATA_HELP)],
        out: Annotated[Path, typer.Option("--out", help="Folder of the runs and summary.")],
        overrides: Annotated[list[str] | None, typer.Option("--set", help=SET_HELP)] = None,
        parallel: Annotated[
            int, typer.Option("--parallel", min=1, help="Runs trained side by side.")
        ] = 2,
        resume: Annotated[
            bool, typer.Option("--resume", help="Continue: finished runs are kept.")
        ] = False,
    ) -> None:
        """The ablation of a recipe: variants (lstm, sa, ta, sta) x with/without regularisers x
        schedules (paper, end-to-end) x seeds x folds, as set in its `ablation` section; writes
        every run's result and mean +/- std per configuration."""
        from stalstm.training.runner import ablate as ablate_runs

        try:
            ablate_runs(recipe, data, out, overrides or (), parallel=parallel, resume=resume)
        except _known_errors() as error:
            _fail(error)
        _print_table(out)
