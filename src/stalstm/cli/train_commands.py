"""Training commands: ``train`` (a recogniser or a detector, whichever the recipe describes:
``stalstm.tasks.train``), ``eval``, ``cv`` and ``ablate`` (``stalstm.training.runner``), and
``report`` (a run's page, ``stalstm.viewer.report``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from stalstm.cli.common import (
    DataOption,
    JsonOption,
    LayoutOption,
    QuietOption,
    RecipeOption,
    SetOption,
    command,
    echo_json,
    out_option,
)

ParallelOption = Annotated[
    int,
    typer.Option("--parallel", min=1, metavar="N", help="Trainings run side by side (processes)."),
]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Continue a killed run in --out (finished parts kept).")
]


def _report(out: Path, summary: dict[str, Any], as_json: bool) -> None:
    """The run's summary: its Markdown table, or the summary as one JSON line (once under
    torchrun: rank 0)."""
    if os.environ.get("RANK", "0") != "0":
        return
    if as_json:
        echo_json(summary)
    elif (out / "summary.md").is_file():
        typer.echo((out / "summary.md").read_text())


def _overrides(overrides: list[str] | None, layout: str | None) -> list[str]:
    return [*(overrides or ()), *([f"data.layout={layout}"] if layout else [])]


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""

    @app.command()
    @command
    def train(
        recipe: RecipeOption,
        out: Annotated[Path, out_option("Run folder to write.")],
        data: DataOption = None,
        layout: LayoutOption = None,
        fold: Annotated[
            int | None,
            typer.Option("--fold", metavar="K", help="Test fold of a cross-validated recipe."),
        ] = None,
        overrides: SetOption = None,
        resume: ResumeOption = False,
        quiet: QuietOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Train one model by a recipe (a recogniser, or a detector for a detection recipe);
        writes checkpoints, logs, the model, its evaluation and summary.json into --out. Under
        torchrun, trains with DDP over all its processes."""
        from stalstm.tasks import train as train_run

        result = train_run(recipe, data, out, fold, _overrides(overrides, layout),
                           resume=resume, progress_bar=not (quiet or as_json))  # fmt: skip
        _report(out, result.summary, as_json)

    @app.command("eval")
    @command
    def evaluate(
        run: Annotated[
            Path, typer.Argument(metavar="RUN", help="A run folder written by `stalstm train`.")
        ],
        split: Annotated[
            str, typer.Option("--split", metavar="SPLIT", help="train or test.")
        ] = "test",
        data: Annotated[
            Path | None,
            typer.Option("--data", metavar="DIR", help="The data, if moved since training."),
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Evaluate a recognition run's final model on a split: metrics, confusion matrix (CSV,
        PNG), per-clip scores keyed by clip name, into RUN/evaluation-SPLIT/."""
        from stalstm.training.runner import evaluate as evaluate_run

        metrics = evaluate_run(run, split, data)
        if as_json:
            echo_json(metrics)
            return
        typer.echo(f"{run} ({split}): " + ", ".join(
            f"{key} {100 * metrics[key]:.1f} %" for key in ("top1", "top5", "mean_class_accuracy")
        ))  # fmt: skip

    @app.command()
    @command
    def cv(
        recipe: RecipeOption,
        out: Annotated[Path, out_option("Folder of the fold runs and the summary.")],
        data: DataOption = None,
        layout: LayoutOption = None,
        overrides: SetOption = None,
        parallel: ParallelOption = 2,
        resume: ResumeOption = False,
        quiet: QuietOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Cross-validate a recognition recipe over its folds; writes summary.json (folds,
        mean_accuracy, std_accuracy, seconds) and summary.md."""
        from stalstm.training.runner import cross_validate

        summary = cross_validate(recipe, data, out, _overrides(overrides, layout),
                                 parallel=parallel, resume=resume,
                                 progress_bar=not (quiet or as_json))  # fmt: skip
        _report(out, summary, as_json)

    @app.command()
    @command
    def ablate(
        recipe: RecipeOption,
        out: Annotated[Path, out_option("Folder of the runs and the summary.")],
        data: DataOption = None,
        layout: LayoutOption = None,
        overrides: SetOption = None,
        parallel: ParallelOption = 2,
        resume: ResumeOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """The ablation of a recognition recipe: variants (lstm, sa, ta, sta) x with/without
        regularisers x schedules x seeds x folds, as set in its `ablation` section; writes every
        run, mean +/- std per configuration and each variant's difference to the plain LSTM,
        paired by seed and fold (mean, standard error, better / worse)."""
        from stalstm.training.runner import ablate as ablate_runs

        summary = ablate_runs(recipe, data, out, _overrides(overrides, layout),
                              parallel=parallel, resume=resume)  # fmt: skip
        _report(out, summary, as_json)

    @app.command()
    @command
    def report(
        run: Annotated[
            Path, typer.Argument(metavar="RUN", help="A run folder written by `stalstm train`.")
        ],
        out: Annotated[Path, out_option("The page to write (FILE.html).")],
    ) -> None:
        """One self-contained page about a run: its training curves, per-class accuracy, the
        confusion matrix (click a cell for its clips) and a few right and wrong test clips
        frame by frame. `stalstm train` writes the same page as RUN/report.html."""
        from stalstm.viewer.report import write_run_report

        typer.echo(f"wrote {write_run_report(run, out)}")
