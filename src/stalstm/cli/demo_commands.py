"""``stalstm demo``: train STA-LSTM and the plain LSTM on embedded synthetic data and show where
the attention goes; one call into ``stalstm.demo.run_demo``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""

    @app.command()
    def demo(
        out: Annotated[
            Path, typer.Option("--out", help="Folder for summary.json, attention.png, model/.")
        ] = Path("stalstm-demo"),
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    ) -> None:
        """Generate synthetic skeleton actions, train STA-LSTM and a plain LSTM briefly on the
        CPU, and report accuracy and how much attention lands on the planted joints and frames
        (about 1.5 minutes on two CPU cores)."""
        started = time.perf_counter()  # before torch is imported: its import counts
        import json

        from stalstm.demo import run_demo

        summary = run_demo(out, progress_bar=not quiet, log=typer.echo, started=started)
        shown = {key: summary[key] for key in (
            "sta_accuracy", "lstm_accuracy", "spatial_attention_on_planted_joints",
            "temporal_attention_on_key_frames", "seconds",
        )}  # fmt: skip
        typer.echo(json.dumps(shown, indent=2))
        typer.echo(f"wrote {out / 'summary.json'}, {summary['picture']} and {summary['model']}")
