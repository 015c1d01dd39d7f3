"""``stalstm demo``: train STA-LSTM and the plain LSTM by the shipped ``demo`` recipe on the
embedded synthetic data and show where the attention goes; one call into
``stalstm.demo.run_demo``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from stalstm.cli.common import JsonOption, QuietOption, SetOption, command, echo_json, out_option

SHOWN = ("sta_accuracy", "lstm_accuracy", "spatial_attention_on_planted_joints",
         "temporal_attention_on_key_frames", "seconds")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add this group's commands to the application."""

    @app.command()
    @command
    def demo(
        out: Annotated[
            Path, out_option("Folder for summary.json, attention.png, model/ and runs/.")
        ] = Path("stalstm-demo"),
        overrides: SetOption = None,
        quiet: QuietOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Train STA-LSTM and a plain LSTM on synthetic skeleton actions whose discriminative
        joints and frames are known, and report accuracy and how much attention lands on them
        (about two minutes on two CPU cores)."""
        started = time.perf_counter()  # before torch is imported: its import counts
        from stalstm.demo import run_demo

        def log(message: str) -> None:
            if not (quiet or as_json):
                typer.echo(message)

        summary = run_demo(out, overrides or (), progress_bar=not (quiet or as_json), log=log,
                           started=started)  # fmt: skip
        shown = {key: summary[key] for key in SHOWN}
        if as_json:
            echo_json({**shown, "picture": summary["picture"], "model": summary["model"]})
            return
        for key, value in shown.items():
            typer.echo(f"{key}: {value:.4g}")
        typer.echo(f"wrote {out / 'summary.json'}, {summary['picture']} and {summary['model']}")
