"""The `stalstm` command line: a thin layer over the Python API. Each command module registers
its commands here and does its heavy imports inside the command, so `stalstm --help` is quick."""

from __future__ import annotations

import typer

from stalstm.cli import data_commands, demo_commands, model_commands, train_commands

app = typer.Typer(
    name="stalstm",
    help="STA-LSTM: spatio-temporal attention LSTM for skeleton action recognition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstrings wrap as paragraphs, not at their line breaks
)

for module in (demo_commands, data_commands, train_commands, model_commands):
    module.register(app)


def main() -> None:
    app()


@app.command()
def version() -> None:
    """Print the package version."""
    from stalstm import __version__

    typer.echo(__version__)
